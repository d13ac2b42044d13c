using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiLora.Core.Tensors;

/// <summary>Creates nn.Embedding tables that honour the meta device without first building a real one.</summary>
public static class Embeddings
{
    /// <summary>
    /// nn.Embedding(<paramref name="count"/>, <paramref name="dim"/>) on <paramref name="device"/>. Why not
    /// nn.Embedding directly: its native constructor allocates the whole table on the CPU in float32 and
    /// draws it from N(0, 1) before moving it, so "on meta" would still cost a vocabulary-sized allocation
    /// and its initialisation. On the meta device a one-row table is built and given an unallocated
    /// weight of the real shape (the native forward reads only the weight, never the row count).
    /// </summary>
    public static Embedding Create(long count, long dim, ScalarType dtype, Device? device)
    {
        if (device?.type != DeviceType.META) return nn.Embedding(count, dim, dtype: dtype, device: device);
        var table = nn.Embedding(1, dim, dtype: dtype, device: device);
        table.weight = new Parameter(empty([count, dim], dtype: dtype, device: device));
        return table;
    }
}
