using JumpingVpn.Control.Audit;
using JumpingVpn.Control.Jumping;
using JumpingVpn.Control.Jumping.Server;
using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Testing;
using JumpingVpn.Tunnel.Device;
using Microsoft.Extensions.Logging.Abstractions;

namespace JumpingVpn.Tests.Control.Jumping.Server;

/// <summary>
/// MaxSessionsPerNode under concurrent admissions (docs/threads.md "Control workers"): workers that admit HELLOs at
/// the same moment, each before any of them published its SESSION_CREATED, never take more places than the limit.
/// </summary>
public sealed class ServerSessionTableAdmissionTests
{
    private static ServerSessionTable NewTable()
    {
        var clock = new ManualTimeProvider();
        var device = new WireGuardDevice(new DeviceOptions { Time = clock }, new WireSender());
        var context = new NodeContext(device, SessionPolicy.Default, new AuditTail("admission"), NullLogger.Instance, clock);
        return new ServerSessionTable(context);
    }

    private static List<AuditEvent> Created(byte seed)
    {
        var audit = new List<AuditEvent>();
        byte[] id = new byte[SessionId.Size];
        id[0] = seed;
        id[1] = 1;
        _ = new SessionSlot(SessionId.Read(id), SessionPolicy.Default, 0, audit);
        Assert.Contains(audit, e => e.Type == AuditEventType.SessionCreated);
        return audit;
    }

    [Fact]
    public void Eight_workers_admitting_at_once_under_a_limit_of_three_get_exactly_three_places()
    {
        const int limit = 3;
        const int workers = 8;
        for (int round = 0; round < 50; round++)
        {
            ServerSessionTable table = NewTable();
            using var start = new Barrier(workers);
            using var allTried = new CountdownEvent(workers);
            int admitted = 0;
            var threads = new Thread[workers];
            for (int w = 0; w < workers; w++)
            {
                byte seed = (byte)w;
                threads[w] = new Thread(() =>
                {
                    start.SignalAndWait();
                    bool mine = table.TryAdmit(limit);
                    allTried.Signal();
                    // Nobody publishes before every worker has tried: the window in which a check of the live
                    // count alone let all of them in.
                    allTried.Wait();
                    if (mine)
                    {
                        Interlocked.Increment(ref admitted);
                        table.Publish(Created(seed));
                        table.EndAdmission();
                    }
                });
                threads[w].Start();
            }
            foreach (Thread t in threads)
            {
                Assert.True(t.Join(TimeSpan.FromSeconds(10)));
            }
            Assert.Equal(limit, admitted);
            Assert.Equal(limit, table.Live);
            Assert.False(table.TryAdmit(limit)); // full: the next HELLO is refused
        }
    }

    [Fact]
    public void A_refused_creation_gives_its_place_back_and_a_terminated_session_frees_one()
    {
        ServerSessionTable table = NewTable();
        Assert.True(table.TryAdmit(1));
        Assert.False(table.TryAdmit(1)); // an admission in progress holds the place
        table.EndAdmission(); // the store refused the session: nothing was published
        Assert.Equal(0, table.Live);
        Assert.True(table.TryAdmit(1));
        table.Publish(Created(9));
        table.EndAdmission();
        Assert.Equal(1, table.Live);
        Assert.False(table.TryAdmit(1));

        byte[] id = new byte[SessionId.Size];
        id[0] = 9;
        id[1] = 1;
        table.Publish([new AuditEvent { Type = AuditEventType.StateChange, SessionId = SessionId.Read(id), NewState = SessionState.Terminated }]);
        Assert.Equal(0, table.Live);
        Assert.True(table.TryAdmit(1));
    }
}
