using MultiLora.Distributed;
using MultiLora.Llava.Training.Recipes;
using static TorchSharp.torch;

namespace MultiLora.Llava.Training;

/// <summary>
/// The trainer's side of data parallelism: which device this rank trains on, the identical start (rank 0's trainable
/// weights broadcast), the global label-token count a step's loss is divided by, the gradient all-reduce, the step's
/// global totals, and a check that the replicas still agree. With one process every call is free.
/// Sums of small values go through all-gather and are added in rank order on every rank, so all ranks hold the
/// same bits (an MPI sum's order is the library's choice).
/// </summary>
sealed class DataParallel
{
    readonly ICollectives _collectives;
    readonly GradientBuckets _buckets;
    readonly System.Diagnostics.Stopwatch _inCollectives = new();

    public DataParallel(ICollectives collectives, TrainableParameters trainable, TrainRecipe recipe)
    {
        _collectives = collectives;
        _buckets = new GradientBuckets([.. trainable.All.Select(p => (Tensor)p.Parameter)], collectives, recipe.Distributed.BucketBytes());
    }

    public int Rank => _collectives.Rank;
    public int WorldSize => _collectives.WorldSize;
    public bool IsRankZero => _collectives.Rank == 0;

    /// <summary>Seconds spent in collectives since the last call (waiting for slower ranks included).</summary>
    public double TakeCollectiveSeconds()
    {
        double seconds = _inCollectives.Elapsed.TotalSeconds;
        _inCollectives.Reset();
        return seconds;
    }

    T Timed<T>(Func<T> collective)
    {
        if (WorldSize == 1) return collective();
        _inCollectives.Start();
        try { return collective(); }
        finally { _inCollectives.Stop(); }
    }

    /// <summary>Rank 0's trainable weights on every rank (after initialisation and any resume).</summary>
    public void BroadcastWeights(TrainableParameters trainable)
    {
        if (WorldSize == 1) return;
        using var _ = no_grad();
        foreach (var (_, p) in trainable.All) _collectives.Broadcast(p, 0);
    }

    /// <summary>Sum over ranks, in rank order.</summary>
    public long Sum(long local) => Timed(() => _collectives.AllGather([local]).Sum());

    /// <summary>Element-wise sums over ranks of a few values, in rank order.</summary>
    public double[] Sum(params double[] local)
    {
        var all = Timed(() => _collectives.AllGather(local));
        var sums = new double[local.Length];
        for (int r = 0; r < WorldSize; r++)
            for (int i = 0; i < local.Length; i++) sums[i] += all[r * local.Length + i];
        return sums;
    }

    /// <summary>A tensor summed over ranks in place, on its device (a world of one leaves it as it is).</summary>
    public void SumInPlace(Tensor tensor) => Timed(() => { _collectives.AllReduceSum(tensor); return 0; });

    /// <summary>Every rank's gradients summed into every rank's .grad; the bytes this moved.</summary>
    public long ReduceGradients() => Timed(() => _buckets.AllReduce().Bytes);

    /// <summary>
    /// Fails when the replicas' trainable weights differ (they must be bit-identical: same start, same summed
    /// gradients, same update). One float64 sum per parameter, compared across ranks; called at checkpoints.
    /// </summary>
    public void RequireIdenticalReplicas(TrainableParameters trainable, int step)
    {
        if (WorldSize == 1) return;
        using var scope = NewDisposeScope();
        var sums = trainable.All.Select(p => p.Parameter.detach().sum(ScalarType.Float64).item<double>()).ToArray();
        var all = _collectives.AllGather(sums);
        for (int r = 1; r < WorldSize; r++)
            for (int i = 0; i < sums.Length; i++)
                if (BitConverter.DoubleToInt64Bits(all[r * sums.Length + i]) != BitConverter.DoubleToInt64Bits(all[i]))
                    throw new InvalidOperationException($"step {step}: rank {r}'s '{trainable.All.ElementAt(i).Name}' differs from rank 0's (the replicas diverged)");
    }
}
