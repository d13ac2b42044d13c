using MultiLora.Core.Tensors;
using MultiLora.Distributed;
using static TorchSharp.torch;

namespace MultiLora.Tests.Distributed;

/// <summary>
/// N ranks as threads of one process, for testing code written against <see cref="ICollectives"/> without a
/// launcher: every collective deposits each rank's data, meets at a barrier, and sums in rank order.
/// </summary>
sealed class InProcessGroup
{
    readonly Barrier _barrier;
    readonly object?[] _slots;

    public InProcessGroup(int world)
    {
        _barrier = new Barrier(world);
        _slots = new object?[world];
        Ranks = [.. Enumerable.Range(0, world).Select(r => new Member(this, r))];
    }

    public IReadOnlyList<ICollectives> Ranks { get; }

    /// <summary>Runs <paramref name="body"/> on every rank at once and returns each rank's result.</summary>
    public T[] Run<T>(Func<ICollectives, T> body) =>
        Task.WhenAll(Ranks.Select(r => Task.Factory.StartNew(() => body(r), TaskCreationOptions.LongRunning))).GetAwaiter().GetResult();

    /// <summary>Deposits this rank's data; <paramref name="use"/> reads everyone's before any rank moves on.</summary>
    T Exchange<T>(int rank, object mine, Func<object[], T> use)
    {
        _slots[rank] = mine;
        _barrier.SignalAndWait();
        var result = use(_slots.Select(s => s!).ToArray());
        _barrier.SignalAndWait();
        return result;
    }

    sealed class Member(InProcessGroup group, int rank) : ICollectives
    {
        public int Rank => rank;
        public int WorldSize => group._slots.Length;
        public string Description => "in-process test group";
        public long BytesAllReduced { get; private set; }

        public void AllReduceSum(Tensor t)
        {
            using var mine = t.detach().clone().DetachFromDisposeScope();
            using var sum = group.Exchange(rank, mine, all =>
            {
                var total = ((Tensor)all[0]).clone().DetachFromDisposeScope();
                foreach (var other in all.Skip(1)) total.add_((Tensor)other, Scalars.One);
                return total;
            });
            t.copy_(sum);
            BytesAllReduced += t.NumberOfElements * t.ElementSize;
        }

        public void Broadcast(Tensor t, int root = 0)
        {
            using var mine = t.detach().clone().DetachFromDisposeScope();
            group.Exchange(rank, mine, all => t.copy_((Tensor)all[root]));
        }

        public void Barrier() => group.Exchange(rank, 0, _ => 0);
        public long[] AllGather(ReadOnlySpan<long> values) => group.Exchange(rank, values.ToArray(), all => all.SelectMany(v => (long[])v).ToArray());
        public double[] AllGather(ReadOnlySpan<double> values) => group.Exchange(rank, values.ToArray(), all => all.SelectMany(v => (double[])v).ToArray());
        public void Fail(string reason) { }
        public void Dispose() { }
    }
}
