using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Distributed;

/// <summary>What one gradient all-reduce moved.</summary>
public readonly record struct GradientReduction(long Bytes, int Buckets, int Calls);

/// <summary>
/// Sums the trainable parameters' gradients over all ranks, as DDP does: parameters are grouped, in reverse
/// registration order (the order backward produces their gradients), into buckets of at most
/// <c>bucketBytes</c> per dtype and device; each bucket is flattened into one scratch buffer, all-reduced in one
/// call, and copied back. A gradient that no rank has (a parameter no sample reached, e.g. the vision tower in a
/// text-only batch) stays absent everywhere, so optimizers that skip absent gradients behave as in one process;
/// one that only some ranks have becomes a zero gradient on the others before the sum. Which parameters have
/// gradients is agreed first with one small all-reduce of flags. The sum runs after backward (TorchSharp
/// 0.107 has no gradient-ready hooks to start buckets while backward still runs).
/// </summary>
public sealed class GradientBuckets
{
    public const long DefaultBucketBytes = 25L * 1024 * 1024;   // torch DDP's bucket_cap_mb
    readonly ICollectives _collectives;
    readonly IReadOnlyList<Tensor> _parameters;
    readonly List<int[]> _buckets = [];
    readonly Dictionary<(ScalarType, DeviceType, int), Tensor> _scratch = [];

    public GradientBuckets(IReadOnlyList<Tensor> parameters, ICollectives collectives, long bucketBytes = DefaultBucketBytes)
    {
        if (bucketBytes <= 0) throw new ArgumentOutOfRangeException(nameof(bucketBytes), bucketBytes, "bucket size must be positive");
        _collectives = collectives;
        _parameters = parameters;
        var open = new Dictionary<(ScalarType, DeviceType, int), (List<int> Members, long Bytes)>();
        for (int i = parameters.Count - 1; i >= 0; i--)
        {
            var p = parameters[i];
            var key = (p.dtype, p.device_type, p.device_index);
            long bytes = p.NumberOfElements * p.ElementSize;
            var (members, filled) = open.TryGetValue(key, out var current) ? current : ([], 0);
            if (members.Count > 0 && filled + bytes > bucketBytes)
            {
                _buckets.Add([.. members]);
                (members, filled) = ([], 0);
            }
            members.Add(i);
            open[key] = (members, filled + bytes);
        }
        _buckets.AddRange(open.Values.Where(b => b.Members.Count > 0).Select(b => b.Members.ToArray()));
    }

    /// <summary>Buckets as parameter indices, in the order they are all-reduced.</summary>
    public IReadOnlyList<int[]> Buckets => _buckets;

    /// <summary>Bytes one all-reduce moves when every parameter has a gradient (the gradients plus the flags).</summary>
    public long FullStepBytes => _parameters.Sum(p => p.NumberOfElements * p.ElementSize) + _parameters.Count * sizeof(long);

    /// <summary>Sums every rank's gradients into every rank's .grad (in place). Call on all ranks after backward.</summary>
    public GradientReduction AllReduce()
    {
        if (_collectives.WorldSize == 1) return default;
        using var scope = NewDisposeScope();
        long before = _collectives.BytesAllReduced;
        int calls = 1, buckets = 0;
        var present = tensor(_parameters.Select(p => p.grad is null ? 0L : 1L).ToArray());
        _collectives.AllReduceSum(present);
        var anywhere = present.data<long>().ToArray();
        foreach (var bucket in _buckets)
        {
            if (bucket.All(i => anywhere[i] == 0)) continue;   // nobody has these gradients: nothing to sum
            var first = _parameters[bucket[0]];
            long elements = bucket.Sum(i => _parameters[i].NumberOfElements);
            var flat = Scratch(first, elements).narrow(0, 0, elements);
            long offset = 0;
            foreach (var i in bucket)
            {
                var p = _parameters[i];
                var slot = flat.narrow(0, offset, p.NumberOfElements);
                if (p.grad is { } g) slot.copy_(g.reshape(-1));
                else slot.zero_();
                offset += p.NumberOfElements;
            }
            _collectives.AllReduceSum(flat);
            calls++;
            buckets++;
            offset = 0;
            foreach (var i in bucket)
            {
                var p = _parameters[i];
                if (anywhere[i] > 0)
                {
                    var summed = flat.narrow(0, offset, p.NumberOfElements).view(p.shape);
                    if (p.grad is { } g) g.copy_(summed);
                    else p.grad = summed.clone().DetachFromDisposeScope();
                }
                offset += p.NumberOfElements;
            }
        }
        return new GradientReduction(_collectives.BytesAllReduced - before, buckets, calls);
    }

    /// <summary>One reusable flat buffer per dtype and device, as large as the largest bucket.</summary>
    Tensor Scratch(Tensor like, long elements)
    {
        var key = (like.dtype, like.device_type, like.device_index);
        if (_scratch.TryGetValue(key, out var buffer) && buffer.NumberOfElements >= elements) return buffer;
        buffer?.Dispose();
        long largest = _buckets.Where(b => _parameters[b[0]].dtype == like.dtype && _parameters[b[0]].device_type == like.device_type)
            .Max(b => b.Sum(i => _parameters[i].NumberOfElements));
        buffer = empty(Math.Max(largest, elements), like.dtype, like.device).DetachFromDisposeScope();
        _scratch[key] = buffer;
        return buffer;
    }
}
