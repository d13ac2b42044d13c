using System.Net;
using System.Net.Sockets;
using MultiLora.Distributed.Watchdog;

namespace MultiLora.Tests.Distributed;

/// <summary>The torchrun-style rendezvous (NCCL's unique id without MPI) and the heartbeats over its connections, on localhost.</summary>
public sealed class TcpRendezvousTests
{
    static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    static TcpRendezvous[] Connect(int world, byte[] payload, int port) =>
        Task.WhenAll(Enumerable.Range(0, world).Select(r => Task.Run(() =>
            TcpRendezvous.Connect(r, world, "127.0.0.1", port, r == 0 ? payload : new byte[payload.Length], TimeSpan.FromSeconds(20))))).GetAwaiter().GetResult();

    [Fact]
    public void EveryRank_ReceivesRankZerosPayload()
    {
        var payload = Enumerable.Range(0, 128).Select(i => (byte)(i * 7)).ToArray();
        var ranks = Connect(3, payload, FreePort());
        try
        {
            Assert.All(ranks, r => Assert.Equal(payload, r.Payload));
            Assert.Equal([1, 2], ranks[0].Peers.Keys.Order());
            Assert.Equal([0], ranks[2].Peers.Keys);
        }
        finally { foreach (var r in ranks) r.Dispose(); }
    }

    [Fact]
    public void MissingRanks_AreNamedWhenTheRendezvousTimesOut()
    {
        int port = FreePort();
        var e = Assert.Throws<TimeoutException>(() => TcpRendezvous.Connect(0, 3, "127.0.0.1", port, new byte[8], TimeSpan.FromMilliseconds(300)));
        Assert.Equal($"rendezvous: 0 of 2 ranks connected to port {port} before the timeout; missing rank(s) 1, 2", e.Message);
    }

    [Fact]
    public async Task ARankWhoseProcessDies_IsReportedAtOnceThroughItsClosedSocket()
    {
        var ranks = Connect(3, new byte[128], FreePort());
        var options = new WatchdogOptions(TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(60));
        var fatal = Enumerable.Range(0, 3).Select(_ => new FatalRecorder()).ToArray();
        var dogs = Enumerable.Range(0, 3).Select(r => new RankWatchdog(r, 3, new TcpHeartbeatChannel(ranks[r].Peers), options, fatal[r].Record)).ToArray();
        try
        {
            await Task.Delay(300);
            Assert.DoesNotContain(fatal, f => f.Fired);
            ranks[2].Peers[0].Close(0);   // what the kernel does to a killed process's sockets
            var first = await Task.WhenAny(fatal[0].Message, Task.Delay(5000));
            Assert.True(first == fatal[0].Message, "rank 0 did not notice within 5 s (the heartbeat timeout is 60 s)");
            Assert.Equal("distributed: rank 2 is gone (its connection closed); rank 0 stops", await fatal[0].Message);
            Assert.Equal("distributed: rank 2 stopped responding (reported by rank 0); rank 1 stops", await fatal[1].Message.WaitAsync(TimeSpan.FromSeconds(5)));
        }
        finally { foreach (var r in ranks) r.Dispose(); }
    }
}
