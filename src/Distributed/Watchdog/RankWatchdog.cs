using System.Diagnostics;

namespace MultiLora.Distributed.Watchdog;

/// <summary>
/// Keeps a distributed run from hanging when a rank dies: blocking collectives (MPI's, NCCL's waits) never return
/// if a peer is gone, so a thread of its own exchanges heartbeats in a star (rank 0 with every rank) and ends
/// the process with one line naming the rank when
/// - a peer is silent for <see cref="WatchdogOptions.HeartbeatTimeout"/> (killed, crashed, node lost),
/// - a peer reports an error (<see cref="Fail"/>), or rank 0 relays that another rank was lost or failed,
/// - this rank waits in one collective longer than <see cref="WatchdogOptions.CollectiveTimeout"/> (rank 0 names
///   the ranks that have not reached it).
/// Checkpoints are written atomically elsewhere, so ending the process mid-write leaves the last one intact.
/// </summary>
public sealed class RankWatchdog : IDisposable
{
    readonly int _rank, _world;
    readonly IHeartbeatChannel _channel;
    readonly WatchdogOptions _options;
    readonly Action<string> _fatal;
    readonly long[] _lastSeen;          // Stopwatch ticks of the last beat per peer
    readonly long[] _peerCollectives;   // the collective count each peer last reported
    readonly bool[] _finished;
    readonly Stopwatch _clock = Stopwatch.StartNew();
    readonly Thread _thread;
    readonly object _gate = new();
    long _collectives;                  // collectives this rank has entered
    long _inCollectiveSince = -1;       // ticks; -1 when not inside one
    string _collectiveName = "";
    volatile bool _stopping;
    bool _fired;

    /// <param name="fatal">What to do with the final message: by default print it and end the process (exit code 1).</param>
    public RankWatchdog(int rank, int world, IHeartbeatChannel channel, WatchdogOptions options, Action<string>? fatal = null)
    {
        _rank = rank;
        _world = world;
        _channel = channel;
        _options = options;
        _fatal = fatal ?? ProcessExit.Fatal;
        _lastSeen = new long[world];
        _peerCollectives = new long[world];
        _finished = new bool[world];
        Array.Fill(_lastSeen, _clock.ElapsedTicks);
        _thread = new Thread(Loop) { IsBackground = true, Name = $"rank-{rank}-watchdog" };
        _thread.Start();
    }

    /// <summary>Peers this rank exchanges heartbeats with: rank 0 with everyone, everyone else with rank 0.</summary>
    IEnumerable<int> Peers => _rank == 0 ? Enumerable.Range(1, _world - 1) : [0];

    /// <summary>Marks the start of a collective (for the stall check and the counts peers see).</summary>
    public void Enter(string name)
    {
        lock (_gate)
        {
            _collectives++;
            _collectiveName = name;
            _inCollectiveSince = _clock.ElapsedTicks;
        }
    }

    public void Exit()
    {
        lock (_gate) _inCollectiveSince = -1;
    }

    /// <summary>This rank is exiting on an error: tell the peers, give the message a moment to leave, stop watching.</summary>
    public void Fail()
    {
        if (_stopping) return;
        StopThread();
        lock (_gate)
        {
            foreach (var peer in Peers) _channel.Send(peer, new Heartbeat(HeartbeatKind.Failed, _collectives, _rank));
        }
        _channel.Flush(TimeSpan.FromSeconds(2));
    }

    /// <summary>Normal end (after a final barrier): peers stop watching this rank.</summary>
    public void Dispose()
    {
        if (_stopping) return;
        StopThread();
        lock (_gate)
        {
            foreach (var peer in Peers) _channel.Send(peer, new Heartbeat(HeartbeatKind.Finished, _collectives, _rank));
        }
        _channel.Flush(TimeSpan.FromSeconds(2));
    }

    void StopThread()
    {
        _stopping = true;
        if (Thread.CurrentThread != _thread) _thread.Join();
    }

    void Loop()
    {
        var interval = _options.Interval;
        while (!_stopping)
        {
            if (Tick()) return;
            Thread.Sleep(interval);
        }
    }

    /// <summary>One round: send, receive, judge. True when the watchdog fired.</summary>
    bool Tick()
    {
        long now = _clock.ElapsedTicks;
        long collectives;
        long since;
        string name;
        lock (_gate) (collectives, since, name) = (_collectives, _inCollectiveSince, _collectiveName);
        foreach (var peer in Peers)
            if (!_finished[peer]) _channel.Send(peer, new Heartbeat(HeartbeatKind.Alive, collectives, _rank));

        foreach (var (peer, beat) in _channel.Receive())
        {
            _lastSeen[peer] = now;
            _peerCollectives[peer] = beat.Collectives;
            switch (beat.Kind)
            {
                case HeartbeatKind.Finished:
                    _finished[peer] = true;
                    break;
                case HeartbeatKind.Failed:
                    return Fire($"rank {beat.Subject} failed (its own output has the error)", HeartbeatKind.Failed, beat.Subject);
                case HeartbeatKind.Lost:
                    return Fire($"rank {beat.Subject} stopped responding (reported by rank 0)", HeartbeatKind.Lost, beat.Subject);
            }
        }
        foreach (var peer in _channel.Broken)
            if (!_finished[peer]) return Fire($"rank {peer} is gone (its connection closed)", HeartbeatKind.Lost, peer);

        foreach (var peer in Peers)
        {
            if (_finished[peer]) continue;
            double silent = Seconds(now - _lastSeen[peer]);
            if (silent > _options.HeartbeatTimeout.TotalSeconds)
                return Fire($"rank {peer} stopped responding: no heartbeat for {silent:0} s (killed, crashed or unreachable)", HeartbeatKind.Lost, peer);
        }

        if (since >= 0 && Seconds(now - since) > _options.CollectiveTimeout.TotalSeconds)
        {
            var behind = Peers.Where(p => !_finished[p] && _peerCollectives[p] < collectives).ToList();
            string who = behind.Count > 0 ? $"rank(s) {string.Join(", ", behind)} have not reached it" : "a peer has not reached it";
            return Fire($"collective #{collectives} ({name}) has waited {Seconds(now - since):0} s: {who}", HeartbeatKind.Lost, behind.Count > 0 ? behind[0] : -1);
        }
        return false;
    }

    /// <summary>Rank 0 passes the news on to the other ranks before this process ends.</summary>
    bool Fire(string message, HeartbeatKind kind, long subject)
    {
        if (_fired) return true;
        _fired = true;
        _stopping = true;
        if (_rank == 0)
        {
            foreach (var peer in Peers)
                if (peer != subject && !_finished[peer]) _channel.Send(peer, new Heartbeat(kind, _collectives, subject));
            _channel.Flush(TimeSpan.FromSeconds(2));
        }
        _fatal($"distributed: {message}; rank {_rank} stops");
        return true;
    }

    double Seconds(long ticks) => ticks / (double)Stopwatch.Frequency;
}
