using static TorchSharp.torch;

namespace MultiLora.Lora.Adapters;

/// <summary>
/// Which adapter each row of a batch uses (null: the base alone), as row-index groups: a server decodes
/// requests for different adapters in one batch, and every LoraLinear adds each group's own LoRA delta to
/// that group's rows only (see <see cref="LoraLinear.SetRowAdapters"/>). Owns its index tensors.
/// </summary>
public sealed class RowAdapters : IDisposable
{
    readonly List<(string? Adapter, Tensor Rows)> _groups = [];

    /// <summary>The batch size the groups partition.</summary>
    public long BatchSize { get; }

    /// <summary>One entry per distinct adapter, in order of first use: its name and the int64 indices of its rows.</summary>
    public IReadOnlyList<(string? Adapter, Tensor Rows)> Groups => _groups;

    /// <summary>
    /// Compute every row of a batch as it would be computed alone (see <see cref="RowwiseLinear"/>), so that a row's
    /// result does not depend on the batch at all, not even in the last bits.
    /// </summary>
    public bool PerRow { get; }

    public RowAdapters(IReadOnlyList<string?> perRow, Device device, bool computePerRow = false)
    {
        BatchSize = perRow.Count;
        PerRow = computePerRow;
        foreach (var group in perRow.Select((adapter, row) => (adapter, row)).GroupBy(x => x.adapter))
            _groups.Add((group.Key, tensor(group.Select(x => (long)x.row).ToArray(), dtype: ScalarType.Int64, device: device)));
    }

    /// <summary>The adapters with at least one row (null stands for the base).</summary>
    public IEnumerable<string?> Adapters => _groups.Select(g => g.Adapter);

    public void Dispose()
    {
        foreach (var (_, rows) in _groups) rows.Dispose();
        _groups.Clear();
    }
}
