using System.Text;
using JumpingVpn.Control.Config;
using JumpingVpn.Fuzz;
using JumpingVpn.Fuzz.Targets;
using JumpingVpn.Tunnel.Device;

namespace JumpingVpn.Tests.Fuzz;

/// <summary>
/// What CI runs of the fuzzing (docs/fuzzing.md): every committed corpus input and every finding goes
/// through its target in-process, where an escaping exception means a parser failed in a way it does
/// not document. afl++ is not needed for these; scripts/fuzz.sh grows the corpora they replay.
/// </summary>
public sealed class CorpusReplayTests
{
    public static TheoryData<string> Targets()
    {
        var data = new TheoryData<string>();
        foreach (FuzzTarget target in FuzzTargets.All)
        {
            data.Add(target.Name);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void Every_corpus_and_finding_input_runs_without_an_unexpected_exception(string name)
    {
        FuzzTarget target = FuzzTargets.Find(name)!;
        string[] corpus = Files("corpus", name);
        Assert.True(corpus.Length > 0, $"fuzz/corpus/{name} is empty: run `scripts/fuzz.sh {name} SECONDS` or the harness's --seeds");
        var failures = new List<string>();
        foreach (string file in corpus.Concat(Files("findings", name)))
        {
            try
            {
                target.Run(File.ReadAllBytes(file));
            }
#pragma warning disable CA1031 // Any exception that escapes a target is the finding this test reports.
            catch (Exception e)
#pragma warning restore CA1031
            {
                failures.Add($"{Path.GetFileName(file)}: {e.GetType().Name}: {e.Message}");
            }
        }
        Assert.True(failures.Count == 0, $"{failures.Count} input(s) of {name} escaped the parser:\n" + string.Join('\n', failures));
    }

    /// <summary>The generated seeds are committed as they are generated, so a change to a target's
    /// seeds (or to what the device under test sends) is seen in review and in the corpus.</summary>
    [Theory]
    [MemberData(nameof(Targets))]
    public void The_generated_seeds_are_in_the_committed_corpus(string name)
    {
        foreach ((string seed, byte[] data) in FuzzTargets.Find(name)!.Seeds())
        {
            string file = Path.Combine(Directory(), "corpus", name, "seed-" + seed);
            Assert.True(File.Exists(file), $"fuzz/corpus/{name}/seed-{seed} is missing");
            Assert.True(data.AsSpan().SequenceEqual(File.ReadAllBytes(file)), $"fuzz/corpus/{name}/seed-{seed} differs from the generated seed");
        }
    }

    /// <summary>The datagram seeds must get past mac1 and the Noise parsers, or the fuzzer never
    /// explores the handshake code behind them.</summary>
    [Fact]
    public void The_datagram_seeds_reach_the_handshake_success_paths()
    {
        Dictionary<string, byte[]> seeds = DatagramTarget.Seeds().ToDictionary(s => s.Name, s => s.Data);

        DeviceCounters initiation = DatagramTarget.Deliver(seeds["initiation"])!;
        Assert.Equal(1, initiation.Handshakes);
        Assert.Equal(0, initiation.InvalidHandshakes);

        DeviceCounters initiationMac1 = DatagramTarget.Deliver(seeds["initiation-mac1"])!;
        Assert.Equal(1, initiationMac1.Handshakes);

        DeviceCounters response = DatagramTarget.Deliver(seeds["response"])!;
        Assert.Equal(1, response.Handshakes);
        Assert.Equal(0, response.InvalidHandshakes);

        DeviceCounters responseMac1 = DatagramTarget.Deliver(seeds["response-mac1"])!;
        Assert.Equal(1, responseMac1.Handshakes);

        DeviceCounters cookie = DatagramTarget.Deliver(seeds["cookie-reply"])!;
        Assert.Equal(0, cookie.InvalidHandshakes);
        Assert.Equal(0, cookie.Malformed);

        DeviceCounters underLoad = DatagramTarget.Deliver(seeds["initiation-under-load"])!;
        Assert.Equal(1, underLoad.CookieReplies);
    }

    /// <summary>The file seeds must be valid files, so mutations start from the parsers' success paths.</summary>
    [Fact]
    public void The_config_and_peers_file_seeds_parse()
    {
        foreach ((string name, byte[] data) in ConfigTarget.Seeds())
        {
            TunnelConfig config = TunnelConfigParser.Parse(Encoding.UTF8.GetString(data), name, "wg0");
            Assert.NotEmpty(config.Peers);
        }
        foreach ((string name, byte[] data) in PeersFileTarget.Seeds())
        {
            using var reader = new StringReader(Encoding.UTF8.GetString(data));
            Assert.Equal(2, PeersFile.Parse(reader, name).Count);
        }
    }

    private static string Directory() => Path.Combine(AppContext.BaseDirectory, "fuzz");

    private static string[] Files(string kind, string name)
    {
        string dir = Path.Combine(Directory(), kind, name);
        return System.IO.Directory.Exists(dir) ? System.IO.Directory.GetFiles(dir) : [];
    }
}
