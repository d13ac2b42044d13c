using static TorchSharp.torch;

namespace MultiLora.Language;

/// <summary>
/// Keys and values of every decoder layer for incremental decoding: [B, KVH, T, D] per layer,
/// appended to at each step. Owns its tensors (dispose when generation ends).
/// </summary>
public sealed class KvCache : IKvCache, IDisposable
{
    readonly Tensor?[] _keys;
    readonly Tensor?[] _values;

    public KvCache(int layers)
    {
        _keys = new Tensor?[layers];
        _values = new Tensor?[layers];
    }

    /// <summary>Number of positions already cached.</summary>
    public long Length => _keys[0]?.shape[2] ?? 0;

    /// <summary>Appends this step's k/v for <paramref name="layer"/> and returns the full k/v to attend over.</summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor k, Tensor v)
    {
        var oldK = _keys[layer];
        var oldV = _values[layer];
        var newK = oldK is null ? k.detach().clone() : cat([oldK, k.detach()], 2);
        var newV = oldV is null ? v.detach().clone() : cat([oldV, v.detach()], 2);
        newK.DetachFromDisposeScope();
        newV.DetachFromDisposeScope();
        oldK?.Dispose();
        oldV?.Dispose();
        _keys[layer] = newK;
        _values[layer] = newV;
        return (newK, newV);
    }

    /// <summary>The cached keys and values of <paramref name="layer"/> [B, KVH, T, D] (owned by the cache).</summary>
    public (Tensor Keys, Tensor Values) Layer(int layer) =>
        (_keys[layer] ?? throw new InvalidOperationException($"layer {layer} has nothing cached yet"), _values[layer]!);

    /// <summary>Keeps only the batch rows in <paramref name="rows"/> (finished sequences dropped).</summary>
    public void Select(Tensor rows)
    {
        for (int i = 0; i < _keys.Length; i++)
        {
            if (_keys[i] is { } k) { var s = k.index_select(0, rows).DetachFromDisposeScope(); k.Dispose(); _keys[i] = s; }
            if (_values[i] is { } v) { var s = v.index_select(0, rows).DetachFromDisposeScope(); v.Dispose(); _values[i] = s; }
        }
    }

    public void Dispose()
    {
        for (int i = 0; i < _keys.Length; i++) { _keys[i]?.Dispose(); _values[i]?.Dispose(); _keys[i] = _values[i] = null; }
    }
}
