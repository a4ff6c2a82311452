using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Config;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Testing;
using JumpingVpn.Tests.Control.Jumping.Server;
using JumpingVpn.Tunnel.Crypto;
using JumpingVpn.Ui.Server;

namespace JumpingVpn.Tests.Ui.Server;

/// <summary>
/// The server page's endpoints through a real Kestrel and a real UAPI socket (docs/ui.md "Server mode"): sessions
/// paged and searched by the server, add-peer writing the config and answering the client config with its QR code,
/// the cluster view, and hostile input answered 4xx with a message, never 500.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ServerModuleTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static async Task<JsonElement> GetJson(ServerUiRig rig, string path, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using HttpResponseMessage r = await rig.Ui.Http.GetAsync(new Uri(path, UriKind.Relative), Cancel);
        string body = await r.Content.ReadAsStringAsync(Cancel);
        Assert.True(r.StatusCode == expected, $"{path}: {(int)r.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> Post(ServerUiRig rig, object body)
    {
        using HttpResponseMessage r = await rig.Ui.Http.PostAsJsonAsync(new Uri("api/server/peers", UriKind.Relative), body, Cancel);
        string text = await r.Content.ReadAsStringAsync(Cancel);
        return (r.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private static List<string> SortedKeys(FilledSessionTable t) =>
        [.. t.Sessions.Select(s => s.Peer.PublicKey).Order(Comparer<byte[]>.Create((a, b) => a.AsSpan().SequenceCompareTo(b))).Select(k => WireGuardKey.ToBase64(k))];

    [Theory]
    [InlineData("server.html", "text/html", "id=\"sessions\"")]
    [InlineData("server/server.js", "text/javascript", "/api/server/sessions?")]
    [InlineData("server/server.css", "text/css", "#peer-qr")]
    public async Task The_page_and_its_script_and_style_are_served_from_the_assembly(string path, string type, string content)
    {
        await using ServerUiRig rig = await ServerUiRig.StartAsync(0);
        using HttpResponseMessage r = await rig.Ui.Http.GetAsync(new Uri(path, UriKind.Relative), Cancel);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(type, r.Content.Headers.ContentType!.MediaType);
        string text = await r.Content.ReadAsStringAsync(Cancel);
        Assert.Contains(content, text, StringComparison.Ordinal);
        Assert.DoesNotContain("innerHTML", text, StringComparison.Ordinal); // store and user text go in as textContent only
        Assert.DoesNotContain("style=", text, StringComparison.Ordinal); // the CSP allows no inline style
    }

    [Fact]
    public async Task Only_server_tunnels_are_listed()
    {
        await using ServerUiRig rig = await ServerUiRig.StartAsync(0);
        JsonElement list = await GetJson(rig, "api/server/tunnels");
        JsonElement only = Assert.Single(list.EnumerateArray());
        Assert.Equal(ServerUiRig.ServerName, only.GetProperty("name").GetString());
        Assert.Equal("active", only.GetProperty("state").GetString());
    }

    [Fact]
    public async Task Sessions_come_a_page_at_a_time_in_key_order_with_the_totals()
    {
        await using ServerUiRig rig = await ServerUiRig.StartAsync(1000);
        List<string> keys = SortedKeys(rig.Table);

        JsonElement first = await GetJson(rig, "api/server/sessions?tunnel=jvs0");
        Assert.Equal(1000, first.GetProperty("total").GetInt32());
        Assert.Equal(1000, first.GetProperty("matched").GetInt32());
        Assert.Equal(20, first.GetProperty("pages").GetInt32());
        Assert.Equal(keys.Take(50), first.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("publicKey").GetString()));

        JsonElement third = await GetJson(rig, "api/server/sessions?tunnel=jvs0&page=3&size=40");
        Assert.Equal(keys.Skip(80).Take(40), third.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("publicKey").GetString()));
        JsonElement row = third.GetProperty("rows")[0];
        Assert.Equal("ATTACHED", row.GetProperty("state").GetString());
        Assert.Equal(1UL, row.GetProperty("version").GetUInt64());
        Assert.StartsWith("10.", row.GetProperty("inner").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("198.51.100.", row.GetProperty("endpoint").GetString(), StringComparison.Ordinal);
        Assert.Equal(-1, row.GetProperty("lastSeenMs").GetInt64());

        JsonElement past = await GetJson(rig, "api/server/sessions?tunnel=jvs0&page=999");
        Assert.Empty(past.GetProperty("rows").EnumerateArray());
    }

    [Fact]
    public async Task Search_by_inner_address_key_and_session_id_finds_the_session()
    {
        await using ServerUiRig rig = await ServerUiRig.StartAsync(500);
        var target = rig.Table.Sessions[321];
        string b64 = WireGuardKey.ToBase64(target.Peer.PublicKey);
        foreach (string search in new[] { "10.0.1.65/32", b64[..12], target.Slot.Id.ToString()[..16] }) // 321 = 1*256 + 65
        {
            JsonElement page = await GetJson(rig, "api/server/sessions?tunnel=jvs0&search=" + Uri.EscapeDataString(search));
            Assert.Equal(1, page.GetProperty("matched").GetInt32());
            Assert.Equal(b64, page.GetProperty("rows")[0].GetProperty("publicKey").GetString());
            Assert.Equal(500, page.GetProperty("total").GetInt32());
        }
    }

    [Theory]
    [InlineData("api/server/sessions", HttpStatusCode.BadRequest, "?tunnel=NAME")]
    [InlineData("api/server/sessions?tunnel=jvs0&page=0", HttpStatusCode.BadRequest, "pages count from 1")]
    [InlineData("api/server/sessions?tunnel=jvs0&page=-3", HttpStatusCode.BadRequest, "pages count from 1")]
    [InlineData("api/server/sessions?tunnel=jvs0&page=abc", HttpStatusCode.BadRequest, "whole numbers")]
    [InlineData("api/server/sessions?tunnel=jvs0&page=99999999999999999999", HttpStatusCode.BadRequest, "whole numbers")]
    [InlineData("api/server/sessions?tunnel=jvs0&page=9999999", HttpStatusCode.BadRequest, "offset")]
    [InlineData("api/server/sessions?tunnel=jvs0&size=0", HttpStatusCode.BadRequest, "size 0 is outside 1..500")]
    [InlineData("api/server/sessions?tunnel=jvs0&size=100000", HttpStatusCode.BadRequest, "size 100000 is outside 1..500")]
    [InlineData("api/server/sessions?tunnel=jvs0&search=%0Aget%3D1", HttpStatusCode.BadRequest, "control character")]
    [InlineData("api/server/sessions?tunnel=nosuch", HttpStatusCode.NotFound, "no tunnel named nosuch")]
    [InlineData("api/server/sessions?tunnel=laptop", HttpStatusCode.BadRequest, "is a client")]
    [InlineData("api/server/sessions?tunnel=%01%02", HttpStatusCode.BadRequest, "not a tunnel name")]
    [InlineData("api/server/cluster", HttpStatusCode.BadRequest, "?tunnel=NAME")]
    public async Task Hostile_or_mistaken_queries_are_refused_with_a_message(string path, HttpStatusCode status, string message)
    {
        await using ServerUiRig rig = await ServerUiRig.StartAsync(10);
        JsonElement body = await GetJson(rig, path, status);
        Assert.Contains(message, body.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_huge_search_is_refused_before_it_reaches_the_server()
    {
        await using ServerUiRig rig = await ServerUiRig.StartAsync(10);
        JsonElement body = await GetJson(rig, "api/server/sessions?tunnel=jvs0&search=" + new string('x', 5000), HttpStatusCode.BadRequest);
        Assert.Contains("5000 characters", body.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sessions_of_a_server_that_is_not_running_say_to_activate_it()
    {
        await using ServerUiRig rig = await ServerUiRig.StartAsync(0, running: false);
        JsonElement body = await GetJson(rig, "api/server/sessions?tunnel=jvs0", HttpStatusCode.Conflict);
        Assert.Equal("tunnel jvs0 is not running; activate it to see its sessions", body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Add_peer_writes_the_server_config_adds_the_peer_live_and_answers_the_client_config_with_its_qr_code()
    {
        await using ServerUiRig rig = await ServerUiRig.StartAsync(0);
        (HttpStatusCode status, JsonElement answer) = await Post(rig, new { tunnel = "jvs0", name = "alice phone" });
        Assert.True(status == HttpStatusCode.OK, answer.ToString());
        Assert.Equal("added", answer.GetProperty("live").GetString());
        Assert.Equal("10.88.0.2/32", answer.GetProperty("addresses").GetString());
        Assert.Equal("jvs0-alice-phon.conf", answer.GetProperty("fileName").GetString());

        // The client config parses with the real parser and points at the server's recorded endpoint.
        string clientText = answer.GetProperty("config").GetString()!;
        TunnelConfig client = TunnelConfigParser.Parse(clientText, "alice.conf", "alice");
        Assert.Equal("10.88.0.2/32", client.Interface.Addresses.Single().ToString());
        Assert.Equal("vpn.example.net:51888", client.Peers.Single().Endpoint!.ToString());

        // The server config gained the peer under its name, with the client's public key.
        string serverText = await File.ReadAllTextAsync(rig.ConfigPath, Cancel);
        Assert.Contains("# alice phone\n[Peer]", serverText, StringComparison.Ordinal);
        TunnelConfig server = TunnelConfigParser.Parse(serverText, rig.ConfigPath, "jvs0");
        byte[] clientPublic = new byte[32];
        X25519.DerivePublicKey(client.Interface.PrivateKey, clientPublic);
        Assert.Equal(clientPublic, server.Peers.Single().PublicKey);

        // ... and the running interface got it over UAPI set=1.
        var set = Assert.Single(rig.Device.Requests);
        Assert.Equal(clientPublic, set.Peers.Single().PublicKey);
        Assert.Equal("10.88.0.2/32", set.Peers.Single().AllowedIps.Single().ToString());

        // The QR code: an SVG data URL, well-formed, a square of modules the size QRCoder gives the same payload.
        string qr = answer.GetProperty("qr").GetString()!;
        const string Prefix = "data:image/svg+xml;base64,";
        Assert.StartsWith(Prefix, qr, StringComparison.Ordinal);
        XDocument svg = XDocument.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(qr[Prefix.Length..])));
        Assert.Equal("svg", svg.Root!.Name.LocalName);
        string payload = JumpingVpn.Ui.Server.ClientConfigQr.Payload(clientText);
        Assert.DoesNotContain("#", payload, StringComparison.Ordinal);
        Assert.Equal(client.Interface.PrivateKey, TunnelConfigParser.Parse(payload, "qr.conf", "qr").Interface.PrivateKey);
        using var generator = new QRCoder.QRCodeGenerator();
        using QRCoder.QRCodeData data = generator.CreateQrCode(Encoding.UTF8.GetBytes(payload), QRCoder.QRCodeGenerator.ECCLevel.M);
        int modules = data.ModuleMatrix.Count;
        Assert.Equal($"0 0 {modules} {modules}", svg.Root.Attribute("viewBox")?.Value);
        // Read the dark modules back out of the SVG's path and compare them with the code of the payload.
        bool[,] drawn = DarkModules(svg, modules);
        for (int y = 0; y < modules; y++)
        {
            for (int x = 0; x < modules; x++)
            {
                Assert.True(drawn[y, x] == data.ModuleMatrix[y][x], $"module ({x},{y}) differs from the payload's code");
            }
        }
    }

    /// <summary>QRCoder's SVG draws each run of dark modules as <c>M{x} {y}h{w}v1h-{w}z</c> in a black path.</summary>
    private static bool[,] DarkModules(XDocument svg, int size)
    {
        var dark = new bool[size, size];
        XNamespace ns = "http://www.w3.org/2000/svg";
        string d = svg.Root!.Elements(ns + "path").Single().Attribute("d")!.Value;
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(d, @"M(\d+) (\d+)h(\d+)v1h-\3z"))
        {
            int x = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            int y = int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
            int w = int.Parse(m.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture);
            for (int i = 0; i < w; i++)
            {
                dark[y, x + i] = true;
            }
        }
        Assert.True(d.Length > 0 && System.Text.RegularExpressions.Regex.Replace(d, @"M(\d+) (\d+)h(\d+)v1h-\3z", "").Length == 0, "the path holds only module runs");
        return dark;
    }

    [Fact]
    public async Task A_second_peer_gets_the_next_address_and_a_taken_name_is_refused()
    {
        await using ServerUiRig rig = await ServerUiRig.StartAsync(0);
        Assert.Equal(HttpStatusCode.OK, (await Post(rig, new { tunnel = "jvs0", name = "a" })).Status);
        (HttpStatusCode status, JsonElement b) = await Post(rig, new { tunnel = "jvs0", name = "b" });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("10.88.0.3/32", b.GetProperty("addresses").GetString());

        (HttpStatusCode again, JsonElement error) = await Post(rig, new { tunnel = "jvs0", name = "a" });
        Assert.Equal(HttpStatusCode.Conflict, again);
        Assert.Contains("a peer named `a` already exists", error.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Add_peer_to_a_stopped_server_writes_the_config_and_says_when_it_takes_effect()
    {
        await using ServerUiRig rig = await ServerUiRig.StartAsync(0, running: false);
        (HttpStatusCode status, JsonElement answer) = await Post(rig, new { tunnel = "jvs0", name = "bob", address = "10.88.7.7" });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("notRunning", answer.GetProperty("live").GetString());
        Assert.Contains("takes effect when it starts", answer.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("10.88.7.7/32", answer.GetProperty("addresses").GetString());
    }

    public static TheoryData<string, string> BadPeers => new()
    {
        { """{"tunnel":"jvs0","name":""}""", "give the new peer a name" },
        { """{"tunnel":"jvs0","name":"a\nb"}""", "not a usable peer name" },
        { "{\"tunnel\":\"jvs0\",\"name\":\"" + new string('n', 65) + "\"}", "not a usable peer name" },
        { """{"tunnel":"jvs0","name":"x","address":"10.88.0.1"}""", "already used" },
        { """{"tunnel":"jvs0","name":"x","address":"10.0.0.0/8"}""", "not a host address" },
        { """{"tunnel":"jvs0","name":"x","address":"bogus"}""", "not a host address" },
        { """{"tunnel":"laptop","name":"x"}""", "is a client" },
        { """{"tunnel":"jvs0","name":""", "send JSON" },
        { """[1,2,3]""", "send JSON" },
        { """{"name":"x"}""", "?tunnel=NAME" },
    };

    [Theory]
    [MemberData(nameof(BadPeers))]
    public async Task Bad_add_peer_requests_are_refused_with_a_message_and_change_nothing(string json, string message)
    {
        await using ServerUiRig rig = await ServerUiRig.StartAsync(0);
        string before = await File.ReadAllTextAsync(rig.ConfigPath, Cancel);
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using HttpResponseMessage r = await rig.Ui.Http.PostAsync(new Uri("api/server/peers", UriKind.Relative), content, Cancel);
        string body = await r.Content.ReadAsStringAsync(Cancel);
        Assert.True((int)r.StatusCode is >= 400 and < 500, $"{(int)r.StatusCode} {body}");
        Assert.Contains(message, JsonDocument.Parse(body).RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllTextAsync(rig.ConfigPath, Cancel));
        Assert.Empty(rig.Device.Requests);
    }

    [Fact]
    public async Task An_oversized_add_peer_body_is_refused()
    {
        await using ServerUiRig rig = await ServerUiRig.StartAsync(0);
        using var content = new StringContent("{\"tunnel\":\"jvs0\",\"name\":\"" + new string('n', 100_000) + "\"}", Encoding.UTF8, "application/json");
        using HttpResponseMessage r = await rig.Ui.Http.PostAsync(new Uri("api/server/peers", UriKind.Relative), content, Cancel);
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
    }

    [Fact]
    public async Task The_cluster_view_without_a_store_says_the_server_runs_alone()
    {
        await using ServerUiRig rig = await ServerUiRig.StartAsync(0);
        JsonElement view = await GetJson(rig, "api/server/cluster?tunnel=jvs0");
        Assert.False(view.GetProperty("configured").GetBoolean());
    }

    [Fact]
    public async Task The_cluster_view_shows_each_node_alive_or_dead_with_its_sessions_as_cluster_status_judges_them()
    {
        using var store = new InMemorySessionStore();
        ulong a = store.RegisterNode("node-a");
        ulong b = store.RegisterNode("node-b");
        Assert.True(store.Heartbeat(new ClusterNodeInfo("node-a", a, 1, "192.0.2.1:51820", false, 0)));
        Assert.True(store.Heartbeat(new ClusterNodeInfo("node-b", b, 1, "192.0.2.2:51820", true, 0)));
        for (int i = 0; i < 3; i++)
        {
            Assert.True(SessionId.TryParse($"0123456789abcdef0123456789abcd{i:x2}", out SessionId id));
            Assert.Equal(StoreStatus.Ok, store.Create(Owned(id, i < 2 ? "node-a" : "node-b", i < 2 ? a : b)).Status);
        }
        var opened = new List<StoreUrl>();
        // Between the two readings of every round only node-a beats: node-b is judged dead, as the nodes would judge it.
        ulong beat = 1;
        void Wait(TimeSpan ttl) => store.Heartbeat(new ClusterNodeInfo("node-a", a, Interlocked.Increment(ref beat), "192.0.2.1:51820", false, 0));
        await using ServerUiRig rig = await ServerUiRig.StartAsync(0, extraJumping: "Store = redis://10.0.0.5:6379/0\n",
            openStore: url => { lock (opened) { opened.Add(url); } return new NonDisposing(store); }, wait: Wait);

        JsonElement view = await ReadClusterAsync(rig);
        Assert.True(view.GetProperty("configured").GetBoolean(), view.ToString());
        Assert.True(view.GetProperty("storeUp").GetBoolean(), view.ToString());
        Assert.Equal(3, view.GetProperty("sessions").GetInt32());
        Dictionary<string, JsonElement> nodes = view.GetProperty("nodes").EnumerateArray().ToDictionary(n => n.GetProperty("nodeId").GetString()!);
        Assert.True(nodes["node-a"].GetProperty("alive").GetBoolean());
        Assert.Equal(2, nodes["node-a"].GetProperty("sessions").GetInt32());
        Assert.False(nodes["node-b"].GetProperty("alive").GetBoolean());
        Assert.True(nodes["node-b"].GetProperty("draining").GetBoolean());
        Assert.Equal(1, nodes["node-b"].GetProperty("sessions").GetInt32());
        Assert.Equal("192.0.2.2:51820", nodes["node-b"].GetProperty("endpoint").GetString());
        Assert.Equal("redis://10.0.0.5:6379/0", Assert.Single(opened).ToString().Split('?')[0]);
    }

    /// <summary>The first answer that is not "pending" (the background reader's first round), within 10 s.</summary>
    private static async Task<JsonElement> ReadClusterAsync(ServerUiRig rig)
    {
        for (int i = 0; i < 200; i++)
        {
            JsonElement view = await GetJson(rig, "api/server/cluster?tunnel=jvs0");
            if (!view.GetProperty("pending").GetBoolean())
            {
                return view;
            }
            await Task.Delay(50, Cancel);
        }
        throw new TimeoutException("the cluster view stayed pending for 10 s");
    }

    /// <summary>
    /// The cluster view no longer waits NodeTtl per request (docs/ui.md "Server mode"): a background reader keeps the
    /// latest round. Here each round's NodeTtl wait blocks until the test lets it go, i.e. a reading that takes as
    /// long as the test likes; every request is answered in well under NodeTtl anyway: pending before the first
    /// round, then that round with its age while the next one is still waiting. Nobody asking for a minute stops the
    /// reader (the store is closed), and the next request starts a new one.
    /// </summary>
    [Fact]
    public async Task The_cluster_view_answers_at_once_from_the_background_reading_with_its_age()
    {
        using var store = new InMemorySessionStore();
        ulong a = store.RegisterNode("node-a");
        Assert.True(store.Heartbeat(new ClusterNodeInfo("node-a", a, 1, "192.0.2.1:51820", false, 0)));
        ulong beat = 1;
        using var gate = new SemaphoreSlim(0);
        void Wait(TimeSpan ttl)
        {
            gate.Wait(TimeSpan.FromSeconds(30));
            store.Heartbeat(new ClusterNodeInfo("node-a", a, Interlocked.Increment(ref beat), "192.0.2.1:51820", false, 0));
        }
        var time = new ManualTimeProvider();
        int opened = 0;
        using var closed = new SemaphoreSlim(0);
        await using ServerUiRig rig = await ServerUiRig.StartAsync(0, extraJumping: "Store = redis://10.0.0.5:6379/0?nodettl=3s\n",
            openStore: _ => { Interlocked.Increment(ref opened); return new NonDisposing(store, () => closed.Release()); }, wait: Wait, time: time);
        try
        {
            _ = await GetJson(rig, "api/server/tunnels"); // the first request of a process pays Kestrel's and the JIT's start
            var clock = System.Diagnostics.Stopwatch.StartNew();
            JsonElement first = await GetJson(rig, "api/server/cluster?tunnel=jvs0");
            double firstMs = clock.Elapsed.TotalMilliseconds;
            Assert.True(first.GetProperty("pending").GetBoolean(), first.ToString());
            Assert.Equal(3000, first.GetProperty("nodeTtlMs").GetInt64());

            gate.Release(); // round 1 ends; round 2 then blocks in its wait
            JsonElement view = await ReadClusterAsync(rig);
            Assert.True(view.GetProperty("storeUp").GetBoolean(), view.ToString());
            Assert.True(Assert.Single(view.GetProperty("nodes").EnumerateArray()).GetProperty("alive").GetBoolean());

            time.Advance(TimeSpan.FromSeconds(2));
            clock.Restart();
            JsonElement later = await GetJson(rig, "api/server/cluster?tunnel=jvs0");
            double laterMs = clock.Elapsed.TotalMilliseconds;
            Assert.False(later.GetProperty("pending").GetBoolean());
            Assert.True(later.GetProperty("ageMs").GetInt64() >= 2000, later.ToString());
            TestContext.Current.TestOutputHelper?.WriteLine($"cluster view answered in {firstMs:0.0} ms (pending) and {laterMs:0.0} ms (a reading 2 s old, the next round still waiting) with NodeTtl 3000 ms");
            Assert.True(firstMs < 1000 && laterMs < 1000, $"answers took {firstMs:0} and {laterMs:0} ms; NodeTtl is 3000 ms");
            Assert.Equal(1, Volatile.Read(ref opened));

            // A minute without a request: the reader ends after its round and closes the store; the next request
            // starts a new reader.
            time.Advance(TimeSpan.FromMilliseconds(ClusterWatch.IdleStopMs + 1000));
            gate.Release();
            Assert.True(await closed.WaitAsync(TimeSpan.FromSeconds(10), Cancel), "the idle reader did not close the store");
            while (gate.Wait(0, Cancel))
            {
                // The reader may have stopped between rounds without taking the permit; the next reader must not get it.
            }
            JsonElement again = await GetJson(rig, "api/server/cluster?tunnel=jvs0");
            Assert.True(again.GetProperty("pending").GetBoolean(), again.ToString());
            Assert.Equal(2, Volatile.Read(ref opened));
        }
        finally
        {
            gate.Release(100);
        }
    }

    [Fact]
    public async Task The_cluster_view_of_an_unreachable_store_says_so()
    {
        await using ServerUiRig rig = await ServerUiRig.StartAsync(0, extraJumping: "Store = redis://127.0.0.1:1/0?timeout=200ms\n",
            openStore: _ => throw new InvalidOperationException("connection refused"));
        JsonElement view = await ReadClusterAsync(rig);
        Assert.True(view.GetProperty("configured").GetBoolean());
        Assert.False(view.GetProperty("storeUp").GetBoolean());
        Assert.Contains("connection refused", view.GetProperty("problem").GetString(), StringComparison.Ordinal);
    }

    private static OwnershipRecord Owned(SessionId id, string node, ulong nodeEpoch) => new()
    {
        Id = id,
        PeerKey = Convert.ToBase64String(new byte[32] { 9, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 }),
        OwnerNode = node,
        OwnerNodeEpoch = nodeEpoch,
        State = SessionState.Attached,
        StateVersion = 1,
        BoundAtVersion = 1,
        Binding = "192.0.2.7:4000",
        InnerAddresses = "10.77.0.2/32",
        PolicyVersion = "1.0",
        CreatedUnixMs = 1_700_000_000_000,
        LastReason = ReasonCode.HandshakeOk,
    };

    /// <summary>The endpoint disposes the store it opened; the test keeps using its own.</summary>
    private sealed class NonDisposing(ISessionStore inner, Action? disposed = null) : ISessionStore
    {
        public string Description => inner.Description;
        public StoreResult Create(OwnershipRecord record) => inner.Create(record);
        public StoreResult Read(SessionId id) => inner.Read(id);
        public StoreResult CompareAndSwap(ulong expectedVersion, OwnershipRecord next, long tombstoneMs) => inner.CompareAndSwap(expectedVersion, next, tombstoneMs);
        public StoreResult Acquire(SessionId id, string node, ulong nodeEpoch, AcquireExpectation expected) => inner.Acquire(id, node, nodeEpoch, expected);
        public StoreResult Release(SessionId id, string node, ulong nodeEpoch, ulong epoch) => inner.Release(id, node, nodeEpoch, epoch);
        public IReadOnlyList<OwnershipRecord> ListSessions() => inner.ListSessions();
        public IReadOnlyList<OwnershipRecord>? Reap(RecordExpiry rule) => inner.Reap(rule);
        public ulong RegisterNode(string node) => inner.RegisterNode(node);
        public bool Heartbeat(ClusterNodeInfo beat) => inner.Heartbeat(beat);
        public IReadOnlyList<ClusterNodeInfo>? ListNodes() => inner.ListNodes();
        public bool PutPeer(RegisteredPeer peer) => inner.PutPeer(peer);
        public IReadOnlyList<RegisteredPeer> ListPeers() => inner.ListPeers();
        public bool Ping(out double latencyMs) => inner.Ping(out latencyMs);
        public bool RequestDrain(string node, long ttlMs) => inner.RequestDrain(node, ttlMs);
        public bool TakeDrainRequest(string node) => inner.TakeDrainRequest(node);
        public void Dispose() => disposed?.Invoke();
    }
}
