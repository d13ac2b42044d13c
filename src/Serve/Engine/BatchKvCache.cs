using MultiLora.Language;
using static TorchSharp.torch;

namespace MultiLora.Serve.Engine;

/// <summary>
/// The keys and values of every running request, one batch row each, for iteration-level batching. Rows are
/// right-aligned in preallocated per-layer buffers [B, KVH, capacity, D]: every row's newest entry sits in the
/// last used column, so one decode step writes all rows' new keys into one column, and a row of length L holds
/// the L columns before that (those further left are zero padding, hidden by <see cref="StepMask"/>). Rows join
/// (each after its own prefill) and leave between steps; the buffers are then rebuilt, compacted to the longest
/// row plus headroom, so a step never copies the cache (as concatenating would).
/// </summary>
public sealed class BatchKvCache : IKvCache, IDisposable
{
    const long MinHeadroom = 32;

    readonly int _layers;
    Tensor?[] _keys, _values;
    readonly List<long> _lengths = [];
    long _columns;    // used columns: every row ends at column _columns - 1
    long _capacity;

    public BatchKvCache(int layers)
    {
        _layers = layers;
        _keys = new Tensor?[layers];
        _values = new Tensor?[layers];
    }

    public int Rows => _lengths.Count;

    /// <summary>
    /// Attend row by row over each row's own span (<see cref="Attend"/>), as each row alone would, instead of over all
    /// columns with a padding mask: bit-identical to decoding the row alone, at one attention call per row.
    /// </summary>
    public bool PerRow { get; set; }

    /// <summary>Positions cached per row (its prompt plus the tokens fed back so far).</summary>
    public IReadOnlyList<long> Lengths => _lengths;

    /// <summary>Columns in use (the longest row); positions are given per row, so this is only the step's key span.</summary>
    public long Length => _columns;

    /// <summary>
    /// Adds rows that each ran their prompt through a one-row <see cref="KvCache"/>, after the rows already here
    /// (batch order: existing rows, then <paramref name="prefills"/> in order).
    /// </summary>
    public void Join(IReadOnlyList<KvCache> prefills)
    {
        if (prefills.Count == 0) return;
        var kept = Enumerable.Range(0, Rows).Select(i => (long)i).ToArray();
        Rebuild(kept, prefills);
    }

    /// <summary>Keeps only <paramref name="rows"/> (indices in the current batch order, ascending), dropping finished requests.</summary>
    public void Keep(IReadOnlyList<int> rows)
    {
        if (rows.Count == Rows) return;
        Rebuild(rows.Select(r => (long)r).ToArray(), []);
    }

    /// <summary>Makes room for one more column before a decode step (rebuilding with more headroom when full).</summary>
    public void BeginStep()
    {
        if (Rows == 0) throw new InvalidOperationException("no rows to decode");
        if (_columns == _capacity) Rebuild(Enumerable.Range(0, Rows).Select(i => (long)i).ToArray(), []);
    }

    /// <summary>Writes this step's k/v [B, KVH, 1, D] into the next column and returns every used column.</summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor k, Tensor v)
    {
        if (k.shape[2] != 1) throw new ArgumentException($"a batch decode step appends one position per row, got {k.shape[2]}");
        var keys = _keys[layer]!;
        var values = _values[layer]!;
        keys.narrow(2, _columns, 1).copy_(k.detach());
        values.narrow(2, _columns, 1).copy_(v.detach());
        return (keys.narrow(2, 0, _columns + 1), values.narrow(2, 0, _columns + 1));
    }

    /// <summary>
    /// Per-row attention for the step in progress (after <see cref="Append"/>), or null when <see cref="PerRow"/> is off:
    /// q [B, KVH, G, D] (grouped query heads) over keys [B, KVH, S, D], each row over its own span only, the call a
    /// one-row cache makes for it (see LlamaAttention); returns [B, KVH, G, D].
    /// </summary>
    public Tensor? Attend(Tensor q, Tensor keys, Tensor values)
    {
        if (!PerRow) return null;
        long span = keys.shape[2];
        var rows = new List<Tensor>(Rows);
        for (int r = 0; r < Rows; r++)
        {
            // views, no copies: attention over strided keys gives the same bits as over contiguous ones (checked)
            long length = _lengths[r] + 1;   // its cached positions and the one this step appended
            var own = new[] { TensorIndex.Slice(r, r + 1), TensorIndex.Colon, TensorIndex.Slice(span - length, span) };   // one view, one call
            rows.Add(nn.functional.scaled_dot_product_attention(q.narrow(0, r, 1), keys.index(own), values.index(own)));
        }
        return cat(rows, 0);
    }

    /// <summary>After the step's forward: every row is one position longer.</summary>
    public void EndStep()
    {
        _columns++;
        for (int r = 0; r < _lengths.Count; r++) _lengths[r]++;
    }

    /// <summary>
    /// bool [B, 1, 1, columns + 1] (true = attend) for the coming step: each row sees its own positions and the one it
    /// appends; null when every row has the same length (no padding), which is plain attention over all keys.
    /// </summary>
    public Tensor? StepMask(Device device)
    {
        if (_lengths.All(l => l == _lengths[0])) return null;
        long span = _columns + 1;
        var mask = new bool[Rows * span];
        for (int r = 0; r < Rows; r++)
            for (long j = _columns - _lengths[r]; j < span; j++) mask[r * span + j] = true;
        return tensor(mask, [Rows, 1, 1, span], device: device);
    }

    void Rebuild(long[] kept, IReadOnlyList<KvCache> joining)
    {
        using var scope = NewDisposeScope();
        var keptLengths = kept.Select(r => _lengths[(int)r]).ToList();
        var joinLengths = joining.Select(c => c.Length).ToList();
        var lengths = keptLengths.Concat(joinLengths).ToList();
        long columns = lengths.Count == 0 ? 0 : lengths.Max();
        long capacity = columns + Math.Max(MinHeadroom, columns / 2);
        long keptSpan = keptLengths.Count == 0 ? 0 : keptLengths.Max();
        Tensor? index = kept.Length > 0 && kept.Length != Rows ? tensor(kept, dtype: ScalarType.Int64, device: Device()) : null;

        for (int layer = 0; layer < _layers; layer++)
        {
            _keys[layer] = Rebuilt(_keys[layer], joining.Select(c => c.Layer(layer).Keys).ToList());
            _values[layer] = Rebuilt(_values[layer], joining.Select(c => c.Layer(layer).Values).ToList());
        }
        _lengths.Clear();
        _lengths.AddRange(lengths);
        _columns = columns;
        _capacity = capacity;

        Tensor? Rebuilt(Tensor? old, List<Tensor> joins)
        {
            var like = old ?? joins.FirstOrDefault();
            if (like is null || lengths.Count == 0) { old?.Dispose(); return null; }
            var fresh = zeros([lengths.Count, like.shape[1], capacity, like.shape[3]], dtype: like.dtype, device: like.device);
            if (old is not null && kept.Length > 0 && keptSpan > 0)
            {
                var rows = index is null ? old : old.index_select(0, index);
                fresh.narrow(0, 0, kept.Length).narrow(2, columns - keptSpan, keptSpan).copy_(rows.narrow(2, _columns - keptSpan, keptSpan));
            }
            for (int i = 0; i < joins.Count; i++)
            {
                long length = joins[i].shape[2];
                fresh.narrow(0, kept.Length + i, 1).narrow(2, columns - length, length).copy_(joins[i]);
            }
            old?.Dispose();
            return fresh.DetachFromDisposeScope();
        }
    }

    Device Device() => _keys[0]?.device ?? CPU;

    public void Dispose()
    {
        for (int i = 0; i < _layers; i++) { _keys[i]?.Dispose(); _values[i]?.Dispose(); _keys[i] = _values[i] = null; }
        _lengths.Clear();
        _columns = _capacity = 0;
    }
}
