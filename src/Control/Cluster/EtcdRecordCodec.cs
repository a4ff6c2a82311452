using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Control.Cluster;

/// <summary>
/// The value of a session key in etcd (docs/cluster.md "etcd"): one flat JSON object of strings, the same
/// fields as the Redis hash (so <see cref="RedisSessionStore.TryFromFields"/> decodes both) plus `remove`,
/// the Unix ms after which the record no longer exists (the tombstone time, or <see cref="KeepForever"/>). Reading
/// is untrusted input: a value that is too large, not a flat object of strings, or fails
/// <see cref="StoreRecordCheck"/> is malformed, never an exception.
/// </summary>
internal static class EtcdRecordCodec
{
    /// <summary>A record is a few hundred bytes; anything far larger was not written by jvpn.</summary>
    public const int MaxValueBytes = 4096;

    /// <summary>`remove` of a live record: it stays until it is terminated (docs/cluster.md "Not done yet").</summary>
    public const long KeepForever = StoreRecordCheck.MaxUnixMs - 1;

    public static ByteString Encode(OwnershipRecord r, long removeAtUnixMs)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("peer", r.PeerKey);
            w.WriteString("owner", r.OwnerNode);
            w.WriteString("nepoch", Num(r.OwnerNodeEpoch));
            w.WriteString("epoch", Num(r.OwnerEpoch));
            w.WriteString("rel", r.Released ? "1" : "0");
            w.WriteString("state", Num((int)r.State));
            w.WriteString("ver", Num(r.StateVersion));
            w.WriteString("bav", Num(r.BoundAtVersion));
            w.WriteString("bind", r.Binding);
            w.WriteString("inner", r.InnerAddresses);
            w.WriteString("pol", r.PolicyVersion);
            w.WriteString("created", Num(r.CreatedUnixMs));
            w.WriteString("unbound", Num(r.UnboundSinceUnixMs));
            w.WriteString("sw", Num(r.TotalSwitches));
            w.WriteString("hw", Num(r.CtrlSeqHighWater));
            w.WriteString("reason", Num((int)r.LastReason));
            w.WriteString("remove", Num(removeAtUnixMs));
            w.WriteEndObject();
        }
        return ByteString.CopyFrom(buffer.WrittenSpan);
    }

    /// <summary>The record and its removal time; false with a short, log-safe problem.</summary>
    public static bool TryDecode(SessionId id, ByteString value, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out OwnershipRecord? record,
        out long removeAtUnixMs, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? problem)
    {
        record = null;
        removeAtUnixMs = 0;
        if (value.Length > MaxValueBytes)
        {
            problem = string.Create(CultureInfo.InvariantCulture, $"a session value of {value.Length} bytes");
            return false;
        }
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            using JsonDocument doc = JsonDocument.Parse(value.Memory, new JsonDocumentOptions { MaxDepth = 2 });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                problem = "a session value that is not a JSON object";
                return false;
            }
            foreach (JsonProperty p in doc.RootElement.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String || fields.Count == 32)
                {
                    problem = "session field " + StoreRecordCheck.Excerpt(p.Name) + " is not a string, or too many fields";
                    return false;
                }
                fields[p.Name] = p.Value.GetString()!;
            }
        }
        catch (JsonException)
        {
            problem = "a session value that is not JSON";
            return false;
        }
        if (!long.TryParse(fields.GetValueOrDefault("remove", ""), NumberStyles.None, CultureInfo.InvariantCulture, out removeAtUnixMs) || removeAtUnixMs >= StoreRecordCheck.MaxUnixMs)
        {
            problem = "field remove = " + StoreRecordCheck.Excerpt(fields.GetValueOrDefault("remove", "")) + " is not Unix ms";
            return false;
        }
        if (!RedisSessionStore.TryFromFields(id, fields, out record, out problem))
        {
            return false;
        }
        problem = StoreRecordCheck.Problem(record);
        return problem is null;
    }

    private static string Num(long v) => v.ToString(CultureInfo.InvariantCulture);

    private static string Num(ulong v) => v.ToString(CultureInfo.InvariantCulture);
}
