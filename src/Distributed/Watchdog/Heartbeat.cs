namespace MultiLora.Distributed.Watchdog;

public enum HeartbeatKind : long
{
    /// <summary>Still running; carries how many collectives the sender has entered.</summary>
    Alive = 0,
    /// <summary>Rank <see cref="Heartbeat.Subject"/> raised an error and is exiting.</summary>
    Failed = 1,
    /// <summary>Rank <see cref="Heartbeat.Subject"/> stopped sending heartbeats (rank 0 tells the others).</summary>
    Lost = 2,
    /// <summary>The sender finished normally; stop watching it.</summary>
    Finished = 3,
}

/// <summary>One heartbeat message: three 64-bit words on the wire.</summary>
public readonly record struct Heartbeat(HeartbeatKind Kind, long Collectives, long Subject)
{
    public const int Words = 3;

    public void WriteTo(Span<long> words)
    {
        words[0] = (long)Kind;
        words[1] = Collectives;
        words[2] = Subject;
    }

    public static Heartbeat ReadFrom(ReadOnlySpan<long> words) => new((HeartbeatKind)words[0], words[1], words[2]);
}

/// <summary>
/// How heartbeats travel between this rank and its peers (MPI point-to-point on a communicator of their own, or
/// the TCP connections of the rendezvous). Never blocks: a beat that cannot leave now is dropped.
/// </summary>
public interface IHeartbeatChannel : IDisposable
{
    void Send(int peer, Heartbeat beat);
    /// <summary>The beats that arrived since the last call.</summary>
    IReadOnlyList<(int Peer, Heartbeat Beat)> Receive();
    /// <summary>Peers whose connection is known to be gone (a closed socket); empty where the transport cannot tell.</summary>
    IReadOnlyCollection<int> Broken { get; }
    /// <summary>Waits up to <paramref name="timeout"/> for the beats sent so far to leave (before the process exits).</summary>
    void Flush(TimeSpan timeout);
}
