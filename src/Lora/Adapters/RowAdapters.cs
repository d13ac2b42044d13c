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
    readonly string?[] _perRow;
    readonly Device _device;
    readonly Dictionary<string, Tensor> _stackIndices = new(StringComparer.Ordinal);

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
        _perRow = perRow.ToArray();
        _device = device;
        foreach (var group in perRow.Select((adapter, row) => (adapter, row)).GroupBy(x => x.adapter))
            _groups.Add((group.Key, tensor(group.Select(x => (long)x.row).ToArray(), dtype: ScalarType.Int64, device: device)));
    }

    /// <summary>The adapters with at least one row (null stands for the base).</summary>
    public IEnumerable<string?> Adapters => _groups.Select(g => g.Adapter);

    /// <summary>
    /// Each row's place in a stack of adapters (<paramref name="stacked"/> in stack order from 1; 0 for rows whose
    /// adapter is not in it): int64 [B], made once per batch for every layer holding the same adapters.
    /// </summary>
    public Tensor StackIndex(IReadOnlyList<string> stacked)
    {
        string key = string.Join("\n", stacked);
        if (!_stackIndices.TryGetValue(key, out var index))
        {
            var place = stacked.Select((name, i) => (name, i)).ToDictionary(x => x.name, x => (long)x.i + 1, StringComparer.Ordinal);
            var values = _perRow.Select(a => a is not null && place.TryGetValue(a, out var at) ? at : 0L).ToArray();
            _stackIndices[key] = index = tensor(values, dtype: ScalarType.Int64, device: _device).DetachFromDisposeScope();
        }
        return index;
    }

    public void Dispose()
    {
        foreach (var (_, rows) in _groups) rows.Dispose();
        _groups.Clear();
        foreach (var index in _stackIndices.Values) index.Dispose();
        _stackIndices.Clear();
    }
}
