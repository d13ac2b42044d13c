using static TorchSharp.torch;

namespace MultiLora.Distributed;

/// <summary>
/// The collectives data-parallel training needs, over one backend (MPI, NCCL, or a single process). Every rank
/// calls the same operations in the same order with tensors of the same shape and dtype. A call that a
/// peer never joins ends in the watchdog's one-line error naming that peer, not in a hang.
/// </summary>
public interface ICollectives : IDisposable
{
    int Rank { get; }
    int WorldSize { get; }
    /// <summary>Backend and library, for logs: "mpi (Open MPI v4.1.4, libmpi.so.40)".</summary>
    string Description { get; }

    /// <summary>Sums <paramref name="tensor"/> over all ranks, in place; every rank ends with the same values.</summary>
    void AllReduceSum(Tensor tensor);

    /// <summary>Overwrites <paramref name="tensor"/> on every rank with <paramref name="root"/>'s values.</summary>
    void Broadcast(Tensor tensor, int root = 0);

    void Barrier();

    /// <summary>Every rank's <paramref name="values"/> (same length everywhere), concatenated in rank order.</summary>
    long[] AllGather(ReadOnlySpan<long> values);

    /// <inheritdoc cref="AllGather(ReadOnlySpan{long})"/>
    double[] AllGather(ReadOnlySpan<double> values);

    /// <summary>Bytes this rank passed to all-reduce so far (its buffer sizes, not the wire traffic).</summary>
    long BytesAllReduced { get; }

    /// <summary>
    /// This rank is about to exit on an error: tells the peers (so they stop within the heartbeat interval
    /// instead of waiting for a timeout) and stops the watchdog. Safe to call more than once.
    /// </summary>
    void Fail(string reason);
}
