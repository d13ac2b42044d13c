using MultiLora.Language;
using static TorchSharp.torch;

namespace MultiLora.Serve.Engine;

/// <summary>
/// The keys and values of every running request, for iteration-level batching. Each request owns a slot of
/// per-layer buffers [slots, KVH, capacity, D] and keeps its positions left-aligned in it (position p in column p),
/// so rows of any length sit side by side: a decode step writes every row's new entry at its own column in one
/// scatter per layer; a row joins by copying its prefill into a free slot and leaves by freeing its slot, and the
/// other rows are not touched (no rebuild per join or leave, which would copy the whole batch each time rows
/// arrive one by one). The buffers grow (doubling) when the slots or columns run out.
/// </summary>
public sealed class BatchKvCache : IKvCache, IDisposable
{
    const long MinHeadroom = 32;
    const int MinSlots = 4;

    readonly int _layers;
    readonly Tensor?[] _keys, _values;
    readonly List<int> _slotOf = [];       // per row, in batch order: its slot
    readonly List<long> _lengths = [];     // per row: positions cached
    readonly SortedSet<int> _free = [];    // the lowest free slot is taken first, so rows stay packed at the front
    int _slots;
    long _capacity;
    Tensor? _stepSlots, _stepColumns;      // int64 [B]: where this step's entries go (BeginStep to EndStep)
    bool _packed;                          // rows 0..B-1 sit in slots 0..B-1 (this step): the batch is a view of the buffers

    public BatchKvCache(int layers)
    {
        _layers = layers;
        _keys = new Tensor?[layers];
        _values = new Tensor?[layers];
    }

    public int Rows => _lengths.Count;

    /// <summary>
    /// Attend row by row over each row's own positions (<see cref="Attend"/>), as each row alone would, instead of
    /// over all columns with a padding mask: bit-identical to decoding the row alone, at one attention call per row.
    /// </summary>
    public bool PerRow { get; set; }

    /// <summary>Positions cached per row (its prompt plus the tokens fed back so far).</summary>
    public IReadOnlyList<long> Lengths => _lengths;

    /// <summary>The longest row; positions are given per row, so this is only the step's key span.</summary>
    public long Length => _lengths.Count == 0 ? 0 : _lengths.Max();

    /// <summary>
    /// Adds rows that each ran their prompt through a one-row <see cref="KvCache"/>, after the rows already here
    /// (batch order: existing rows, then <paramref name="prefills"/> in order). Their entries are copied: the
    /// one-row caches stay the caller's.
    /// </summary>
    public void Join(IReadOnlyList<KvCache> prefills)
    {
        if (prefills.Count == 0) return;
        using var scope = NewDisposeScope();
        long longest = Math.Max(Length, prefills.Max(p => p.Length));
        Reserve(_lengths.Count + prefills.Count, longest + 1, prefills[0]);
        foreach (var prefill in prefills)
        {
            int slot = _free.Min;
            _free.Remove(slot);
            long length = prefill.Length;
            for (int layer = 0; layer < _layers; layer++)
            {
                var (k, v) = prefill.Layer(layer);   // [1, KVH, length, D]
                _keys[layer]!.narrow(0, slot, 1).narrow(2, 0, length).copy_(k);
                _values[layer]!.narrow(0, slot, 1).narrow(2, 0, length).copy_(v);
            }
            _slotOf.Add(slot);
            _lengths.Add(length);
        }
    }

    /// <summary>Keeps only <paramref name="rows"/> (indices in the current batch order, ascending), dropping finished requests.</summary>
    public void Keep(IReadOnlyList<int> rows)
    {
        if (rows.Count == Rows) return;
        var slots = rows.Select(r => _slotOf[r]).ToList();
        var lengths = rows.Select(r => _lengths[r]).ToList();
        foreach (var slot in _slotOf.Except(slots)) _free.Add(slot);
        _slotOf.Clear(); _slotOf.AddRange(slots);
        _lengths.Clear(); _lengths.AddRange(lengths);
    }

    /// <summary>Makes room for one more position in every row and notes where this step's entries go.</summary>
    public void BeginStep()
    {
        if (Rows == 0) throw new InvalidOperationException("no rows to decode");
        Reserve(Rows, Length + 1, null);
        DisposeStep();
        var device = _keys[0]!.device;
        _stepSlots = tensor(_slotOf.Select(s => (long)s).ToArray(), dtype: ScalarType.Int64, device: device).DetachFromDisposeScope();
        _stepColumns = tensor(_lengths.ToArray(), dtype: ScalarType.Int64, device: device).DetachFromDisposeScope();
        _packed = _slotOf.Select((slot, row) => slot == row).All(x => x);
    }

    /// <summary>
    /// Writes this step's k/v [B, KVH, 1, D], row r at column length(r) of its slot. Returns what attention reads: with
    /// <see cref="PerRow"/> the whole buffers (<see cref="Attend"/> picks each row's own span); without it the rows in
    /// batch order over the longest span [B, KVH, S, D], shorter rows padded on the right (see <see cref="StepMask"/>).
    /// </summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor k, Tensor v)
    {
        if (k.size(2) != 1) throw new ArgumentException($"a batch decode step appends one position per row, got {k.size(2)}");
        if (_stepSlots is null) throw new InvalidOperationException("BeginStep first");
        var keys = _keys[layer]!;
        var values = _values[layer]!;
        TensorIndex[] at = [TensorIndex.Tensor(_stepSlots), TensorIndex.Colon, TensorIndex.Tensor(_stepColumns!)];   // [B, KVH, D]
        keys.index_put_(k.detach().select(2, 0), at);
        values.index_put_(v.detach().select(2, 0), at);
        if (PerRow) return (keys.narrow(0, 0, _slots), values.narrow(0, 0, _slots));   // views: the buffers stay this cache's
        long span = Length + 1;
        return _packed
            ? (keys.narrow(0, 0, Rows).narrow(2, 0, span), values.narrow(0, 0, Rows).narrow(2, 0, span))
            : (keys.index_select(0, _stepSlots).narrow(2, 0, span), values.index_select(0, _stepSlots).narrow(2, 0, span));
    }

    /// <summary>
    /// Per-row attention for the step in progress (after <see cref="Append"/>), or null when <see cref="PerRow"/> is off:
    /// q [B, KVH, G, D] (grouped query heads) over each row's own positions in its slot of keys [slots, KVH, capacity, D],
    /// the call a one-row cache makes for it (see LlamaAttention); returns [B, KVH, G, D].
    /// </summary>
    public Tensor? Attend(Tensor q, Tensor keys, Tensor values)
    {
        if (!PerRow) return null;
        var queries = q.split(1, 0);   // [1, KVH, G, D] each, one call
        var rows = new Tensor[Rows];
        long heads = keys.size(1), dim = keys.size(3), keyStart = keys.storage_offset(), valueStart = values.storage_offset();
        long[] strides = [keys.stride(0), keys.stride(1), keys.stride(2), keys.stride(3)];
        for (int r = 0; r < Rows; r++)
        {
            // views, no copies (one call each): attention over strided keys gives the same bits as over contiguous ones (checked)
            long length = _lengths[r] + 1;   // its cached positions and the one this step appended
            long offset = _slotOf[r] * strides[0];   // the two buffers have one shape, so one layout
            rows[r] = nn.functional.scaled_dot_product_attention(queries[r],
                keys.as_strided([1, heads, length, dim], strides, keyStart + offset), values.as_strided([1, heads, length, dim], strides, valueStart + offset));
        }
        return cat(rows, 0);
    }

    /// <summary>After the step's forward: every row is one position longer.</summary>
    public void EndStep()
    {
        for (int r = 0; r < _lengths.Count; r++) _lengths[r]++;
        DisposeStep();
    }

    /// <summary>
    /// bool [B, 1, 1, S] (true = attend) for the coming step, S the longest row plus one: each row sees its own
    /// positions and the one it appends; null when every row has the same length (no padding).
    /// </summary>
    public Tensor? StepMask(Device device)
    {
        if (_lengths.All(l => l == _lengths[0])) return null;
        long span = Length + 1;
        var mask = new bool[Rows * span];
        for (int r = 0; r < Rows; r++)
            for (long j = 0; j <= _lengths[r]; j++) mask[r * span + j] = true;
        return tensor(mask, [Rows, 1, 1, span], device: device);
    }

    /// <summary>Grows the buffers (copying what they hold) to at least <paramref name="rows"/> slots and <paramref name="columns"/> columns.</summary>
    void Reserve(int rows, long columns, KvCache? like)
    {
        int used = _slotOf.Count;
        if (_keys[0] is not null && rows - used <= _free.Count && columns <= _capacity) return;
        int slots = Math.Max(_slots, MinSlots);
        while (slots < rows) slots *= 2;
        long capacity = columns <= _capacity ? _capacity : Math.Max(columns + MinHeadroom, 2 * _capacity);
        using var scope = NewDisposeScope();
        for (int layer = 0; layer < _layers; layer++)
        {
            _keys[layer] = Grown(_keys[layer], like?.Layer(layer).Keys);
            _values[layer] = Grown(_values[layer], like?.Layer(layer).Values);
        }
        for (int s = _slots; s < slots; s++) _free.Add(s);
        _slots = slots;
        _capacity = capacity;

        Tensor Grown(Tensor? old, Tensor? prefill)
        {
            var shape = old ?? prefill ?? throw new InvalidOperationException("the first rows to join set the cache's shape");
            var fresh = zeros([slots, shape.size(1), capacity, shape.size(3)], dtype: shape.dtype, device: shape.device);
            if (old is not null) fresh.narrow(0, 0, _slots).narrow(2, 0, _capacity).copy_(old);
            old?.Dispose();
            return fresh.DetachFromDisposeScope();
        }
    }

    void DisposeStep()
    {
        _stepSlots?.Dispose(); _stepColumns?.Dispose();
        _stepSlots = _stepColumns = null;
    }

    public void Dispose()
    {
        for (int i = 0; i < _layers; i++) { _keys[i]?.Dispose(); _values[i]?.Dispose(); _keys[i] = _values[i] = null; }
        DisposeStep();
        _slotOf.Clear();
        _lengths.Clear();
        _free.Clear();
        _slots = 0;
        _capacity = 0;
    }
}
