using System.Collections.Concurrent;
using MultiLora.Distributed.Watchdog;

namespace MultiLora.Tests.Distributed;

/// <summary>Heartbeat channels between ranks of one process (the watchdog's logic without a transport); a rank can be cut off.</summary>
sealed class InMemoryHeartbeats(int world)
{
    readonly ConcurrentQueue<(int From, Heartbeat Beat)>[] _inboxes = [.. Enumerable.Range(0, world).Select(_ => new ConcurrentQueue<(int, Heartbeat)>())];
    readonly ConcurrentDictionary<int, bool> _dead = new();

    /// <summary>Rank <paramref name="rank"/> stops sending and receiving, as a killed process does.</summary>
    public void Kill(int rank) => _dead[rank] = true;

    public IHeartbeatChannel For(int rank) => new Channel(this, rank);

    sealed class Channel(InMemoryHeartbeats hub, int rank) : IHeartbeatChannel
    {
        public void Send(int peer, Heartbeat beat)
        {
            if (!hub._dead.ContainsKey(rank)) hub._inboxes[peer].Enqueue((rank, beat));
        }

        public IReadOnlyList<(int Peer, Heartbeat Beat)> Receive()
        {
            var list = new List<(int, Heartbeat)>();
            while (hub._inboxes[rank].TryDequeue(out var item)) list.Add(item);
            return hub._dead.ContainsKey(rank) ? [] : list;
        }

        public IReadOnlyCollection<int> Broken => [];
        public void Flush(TimeSpan timeout) { }
        public void Dispose() { }
    }
}

/// <summary>Collects what a watchdog would have printed before ending the process.</summary>
sealed class FatalRecorder
{
    readonly TaskCompletionSource<string> _message = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public void Record(string message) => _message.TrySetResult(message);
    public Task<string> Message => _message.Task;
    public bool Fired => _message.Task.IsCompleted;
}
