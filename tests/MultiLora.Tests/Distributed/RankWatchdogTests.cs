using System.Diagnostics;
using MultiLora.Distributed.Watchdog;

namespace MultiLora.Tests.Distributed;

/// <summary>The watchdog's decisions, with fast heartbeats over in-memory channels.</summary>
public sealed class RankWatchdogTests
{
    static readonly WatchdogOptions Fast = new(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(600), TimeSpan.FromSeconds(30));

    static async Task<string> Within(FatalRecorder recorder, double seconds)
    {
        var done = await Task.WhenAny(recorder.Message, Task.Delay(TimeSpan.FromSeconds(seconds)));
        Assert.True(done == recorder.Message, $"the watchdog did not fire within {seconds} s");
        return await recorder.Message;
    }

    [Fact]
    public async Task ASilentRank_IsNamedByRankZero_AndRankZeroTellsTheOthers()
    {
        var hub = new InMemoryHeartbeats(3);
        var fatal = Enumerable.Range(0, 3).Select(_ => new FatalRecorder()).ToArray();
        var dogs = Enumerable.Range(0, 3).Select(r => new RankWatchdog(r, 3, hub.For(r), Fast, fatal[r].Record)).ToArray();
        await Task.Delay(300);
        Assert.DoesNotContain(fatal, f => f.Fired);   // all alive: nothing happens

        var clock = Stopwatch.StartNew();
        hub.Kill(2);
        Assert.Matches(@"^distributed: rank 2 stopped responding: no heartbeat for \d+ s \(killed, crashed or unreachable\); rank 0 stops$", await Within(fatal[0], 5));
        Assert.Equal("distributed: rank 2 stopped responding (reported by rank 0); rank 1 stops", await Within(fatal[1], 5));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task RankZeroGone_IsNamedByTheOthers()
    {
        var hub = new InMemoryHeartbeats(2);
        var fatal = new FatalRecorder();
        using var zero = new RankWatchdog(0, 2, hub.For(0), Fast, new FatalRecorder().Record);
        var one = new RankWatchdog(1, 2, hub.For(1), Fast, fatal.Record);
        hub.Kill(0);
        Assert.StartsWith("distributed: rank 0 stopped responding: no heartbeat for", await Within(fatal, 5));
    }

    [Fact]
    public async Task ARankThatFails_StopsThePeersBeforeAnyTimeout()
    {
        var slow = Fast with { HeartbeatTimeout = TimeSpan.FromSeconds(60) };
        var hub = new InMemoryHeartbeats(3);
        var fatal = Enumerable.Range(0, 3).Select(_ => new FatalRecorder()).ToArray();
        var dogs = Enumerable.Range(0, 3).Select(r => new RankWatchdog(r, 3, hub.For(r), slow, fatal[r].Record)).ToArray();
        dogs[1].Fail();
        Assert.Equal("distributed: rank 1 failed (its own output has the error); rank 0 stops", await Within(fatal[0], 5));
        Assert.Equal("distributed: rank 1 failed (its own output has the error); rank 2 stops", await Within(fatal[2], 5));
        Assert.False(fatal[1].Fired);
    }

    [Fact]
    public async Task FinishedRanks_AreNotReportedWhenTheyGoQuiet()
    {
        var hub = new InMemoryHeartbeats(2);
        var fatal = new FatalRecorder();
        using var zero = new RankWatchdog(0, 2, hub.For(0), Fast, fatal.Record);
        new RankWatchdog(1, 2, hub.For(1), Fast, new FatalRecorder().Record).Dispose();   // says Finished, then silence
        hub.Kill(1);
        await Task.Delay(1500);
        Assert.False(fatal.Fired);
    }

    [Fact]
    public async Task ACollectiveThatOneRankNeverReaches_TimesOutNamingThatRank()
    {
        var options = Fast with { CollectiveTimeout = TimeSpan.FromMilliseconds(500) };
        var hub = new InMemoryHeartbeats(3);
        var fatal = new FatalRecorder();
        using var zero = new RankWatchdog(0, 3, hub.For(0), options, fatal.Record);
        using var one = new RankWatchdog(1, 3, hub.For(1), options, new FatalRecorder().Record);
        using var two = new RankWatchdog(2, 3, hub.For(2), options, new FatalRecorder().Record);
        zero.Enter("all-reduce");
        one.Enter("all-reduce");   // rank 2 stays alive (heartbeats) but never arrives
        Assert.Matches(@"^distributed: collective #1 \(all-reduce\) has waited \d+ s: rank\(s\) 2 have not reached it; rank 0 stops$", await Within(fatal, 5));
    }
}
