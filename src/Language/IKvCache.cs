using static TorchSharp.torch;

namespace MultiLora.Language;

/// <summary>
/// What attention needs from a key/value cache: append this step's keys and values for a layer and get back
/// everything to attend over. <see cref="KvCache"/> serves one generate call; a server's batch cache, whose rows
/// join and leave between steps, implements the same seam (MultiLora.Serve).
/// </summary>
public interface IKvCache
{
    /// <summary>Number of positions already cached (the default position of the next token when none are given).</summary>
    long Length { get; }

    /// <summary>Appends this step's k/v [B, KVH, T, D] for <paramref name="layer"/> and returns the full k/v to attend over.</summary>
    (Tensor Keys, Tensor Values) Append(int layer, Tensor k, Tensor v);

    /// <summary>
    /// Attention for a one-token step over what <see cref="Append"/> returned, when the cache computes it itself (a
    /// batch whose rows each attend over their own span, one at a time, as each would alone); null: plain attention
    /// with the step's mask.
    /// </summary>
    /// <param name="q">[B, KVH, G, D]: each key/value head's G query heads as its query axis (grouped-query attention)</param>
    /// <param name="keys">[B, KVH, S, D]</param>
    /// <returns>[B, KVH, G, D]</returns>
    Tensor? Attend(Tensor q, Tensor keys, Tensor values) => null;
}
