using static TorchSharp.torch;

namespace MultiLora.Language;

/// <summary>
/// Keys and values of every decoder layer for incremental decoding: [B, KVH, T, D] per layer. Each layer's
/// buffer is allocated once, at the first append, for <see cref="Capacity"/> positions (the prompt plus the new
/// tokens, when the generator says so) and appended to in place; what attention reads is a view of the filled
/// part. A cache created without a capacity, or asked for more, grows by doubling (one copy). Before, every token
/// concatenated the whole cache into a new tensor per layer: an allocation and a copy growing with the length.
/// Owns its tensors (dispose when generation ends).
/// </summary>
public sealed class KvCache : IKvCache, IDisposable
{
    const long MinCapacity = 64;
    readonly Tensor?[] _keys;
    readonly Tensor?[] _values;
    readonly long[] _lengths;

    /// <param name="capacity">positions to allocate for at the first append (0: grow as needed)</param>
    public KvCache(int layers, long capacity = 0)
    {
        _keys = new Tensor?[layers];
        _values = new Tensor?[layers];
        _lengths = new long[layers];
        Capacity = capacity;
    }

    /// <summary>Positions each layer's buffer holds before it must grow.</summary>
    public long Capacity { get; private set; }

    /// <summary>Number of positions already cached.</summary>
    public long Length => _lengths[0];

    /// <summary>Appends this step's k/v for <paramref name="layer"/> and returns the full k/v to attend over (views of the cache).</summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor k, Tensor v)
    {
        long length = _lengths[layer], t = k.size(2);
        var keys = Reserve(_keys, layer, k, length, length + t);
        var values = Reserve(_values, layer, v, length, length + t);
        using (no_grad())
        {
            keys.narrow(2, length, t).copy_(k);
            values.narrow(2, length, t).copy_(v);
        }
        _lengths[layer] = length + t;
        return (keys.narrow(2, 0, length + t), values.narrow(2, 0, length + t));
    }

    /// <summary>The layer's buffer with room for <paramref name="needed"/> positions (allocated or grown, keeping the first <paramref name="filled"/>).</summary>
    Tensor Reserve(Tensor?[] buffers, int layer, Tensor like, long filled, long needed)
    {
        var buffer = buffers[layer];
        if (buffer is not null && buffer.size(2) >= needed) return buffer;
        long capacity = Math.Max(Math.Max(needed, MinCapacity), buffer is null ? Capacity : 2 * buffer.size(2));
        var grown = empty([like.size(0), like.size(1), capacity, like.size(3)], dtype: like.dtype, device: like.device).DetachFromDisposeScope();
        if (buffer is not null)
        {
            using (no_grad()) grown.narrow(2, 0, filled).copy_(buffer.narrow(2, 0, filled));
            buffer.Dispose();
        }
        Capacity = Math.Max(Capacity, capacity);
        return buffers[layer] = grown;
    }

    /// <summary>The cached keys and values of <paramref name="layer"/> [B, KVH, T, D]: views of the filled part of the cache's buffers (the caller disposes the views).</summary>
    public (Tensor Keys, Tensor Values) Layer(int layer)
    {
        var keys = _keys[layer] ?? throw new InvalidOperationException($"layer {layer} has nothing cached yet");
        return (keys.narrow(2, 0, _lengths[layer]), _values[layer]!.narrow(2, 0, _lengths[layer]));
    }

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
        for (int i = 0; i < _keys.Length; i++) { _keys[i]?.Dispose(); _values[i]?.Dispose(); _keys[i] = _values[i] = null; _lengths[i] = 0; }
    }
}
