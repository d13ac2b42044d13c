using MultiLora.Core.Tensors;
using MultiLora.Lora.Quantization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MultiLora.Lora.Adapters;

/// <summary>
/// peft's lora.Linear: y = base(x) + scaling * B(A(dropout(x))) for the active adapter, around a frozen
/// base (nn.Linear, Nf4Linear or Int8Linear held as base_layer). Several named adapters may live on one
/// base; one (or none) is active. LoRA weights are float32 parameters whatever the base's dtype (peft's
/// autocast_adapter_dtype: AdamW on bf16 weights loses small updates), and forward runs the LoRA path in
/// their dtype, as peft's Linear.forward does: x is cast to lora_A's dtype, the sum with the base result is
/// cast back to the base result's dtype. Children carry peft's names, so state-dict keys read
/// "base_layer.weight", "lora_A.default.weight", "lora_B.default.weight".
/// </summary>
public sealed class LoraLinear : Module<Tensor, Tensor>
{
    readonly Module<Tensor, Tensor> base_layer;
    readonly AdapterModules lora_A = new();
    readonly AdapterModules lora_B = new();

    readonly Dictionary<string, (double Scaling, double Dropout)> _settings = new(StringComparer.Ordinal);
    readonly HashSet<string> _merged = new(StringComparer.Ordinal);
    // per thread: a server prefills one request on its own thread while its model thread decodes the batch
    readonly ThreadLocal<RowAdapters?> _rowAdapters = new();
    AdapterStack? _stack;   // the adapters stacked for mixed batches; rebuilt after any adapter change
    bool _unstackable;      // this layer's adapters differ in rank, scaling or dtype (decided once per adapter set)

    public long InFeatures { get; }
    public long OutFeatures { get; }
    public Module<Tensor, Tensor> BaseLayer => base_layer;
    public string? ActiveAdapter { get; private set; }

    /// <summary>
    /// torch.autocast for the adapter path: when set (bf16 under mixed precision), A and B are cast to it at each
    /// forward and the LoRA matmuls run in it, as peft's layer does under torch.autocast; gradients still reach A and
    /// B in their own dtype. Null: the path computes in the adapter's dtype (peft without autocast).
    /// </summary>
    public ScalarType? ComputeDType { get; set; }
    public IEnumerable<string> Adapters => lora_A.Names;
    public IReadOnlyCollection<string> MergedAdapters => _merged;

    public LoraLinear(Module<Tensor, Tensor> baseLayer) : base(nameof(LoraLinear))
    {
        (OutFeatures, InFeatures) = baseLayer switch
        {
            Linear l => (l.weight.size(0), l.weight.size(1)),
            IQuantizedLinear q => (q.OutFeatures, q.InFeatures),
            _ => throw new ArgumentException($"LoRA can wrap nn.Linear, Nf4Linear or Int8Linear, not {baseLayer.GetType().Name}"),
        };
        base_layer = baseLayer;
        foreach (var p in baseLayer.parameters()) p.requires_grad = false;
        RegisterComponents();
    }

    public Linear LoraA(string adapter) => lora_A[adapter];
    public Linear LoraB(string adapter) => lora_B[adapter];
    public double Scaling(string adapter) => Settings(adapter).Scaling;

    /// <summary>Adds an adapter with peft's init (A kaiming_uniform a=sqrt(5), B zeros) and makes it active.</summary>
    public void AddAdapter(string name, int r, double alpha, double dropout = 0, bool useRsLora = false)
    {
        if (r <= 0) throw new ArgumentException($"LoRA r must be positive, got {r}");
        var device = BaseDevice();
        // nn.Linear's own init is kaiming_uniform_(a=sqrt(5)), exactly peft's reset_lora_parameters for A.
        var a = Linear(InFeatures, r, hasBias: false, device: device, dtype: ScalarType.Float32);
        var b = Linear(r, OutFeatures, hasBias: false, device: device, dtype: ScalarType.Float32);
        using (no_grad()) b.weight.zero_();
        lora_A.Add(name, a);
        lora_B.Add(name, b);
        _settings[name] = (useRsLora ? alpha / Math.Sqrt(r) : alpha / r, dropout);
        ActiveAdapter = name;
        DropStack();
    }

    public void AddAdapter(LoraConfig cfg) => AddAdapter(cfg.AdapterName, cfg.R, cfg.Alpha, cfg.Dropout, cfg.UseRsLora);

    /// <summary>Casts one adapter's A and B to <paramref name="dtype"/> (peft's autocast_adapter_dtype=False keeps them in the base's dtype).</summary>
    public void CastAdapter(string name, ScalarType dtype)
    {
        Settings(name);
        lora_A[name].to(dtype);
        lora_B[name].to(dtype);
        DropStack();
    }

    /// <summary>Makes <paramref name="name"/> the active adapter; null runs the base alone.</summary>
    public void SetActiveAdapter(string? name)
    {
        if (name is not null) Settings(name);
        if (_merged.Count > 0 && !_merged.Contains(name ?? ""))
            throw new InvalidOperationException($"adapter(s) {string.Join(", ", _merged)} are merged into the base weight: unmerge before switching to '{name ?? "none"}'");
        ActiveAdapter = name;
    }

    /// <summary>
    /// Removes an adapter's A and B (a server unloading it); the module then runs without it, and the base alone
    /// when it was the active one. A merged adapter must be unmerged first.
    /// </summary>
    public void RemoveAdapter(string name)
    {
        Settings(name);
        if (_merged.Contains(name)) throw new InvalidOperationException($"adapter '{name}' is merged into the base weight: unmerge it before removing it");
        lora_A.Remove(name);
        lora_B.Remove(name);
        _settings.Remove(name);
        DropStack();
        if (ActiveAdapter == name) ActiveAdapter = null;
    }

    /// <summary>
    /// Per-row adapters for the calling thread's next forward calls (inference only: no dropout), instead of the one
    /// active adapter; null goes back to the active adapter. Other threads keep their own setting. Each group's rows
    /// get base(x) + scaling * B(A(x)) of their adapter, computed as the single-adapter forward computes it (one group
    /// of all rows is exactly that forward), so a row's result does not depend on the adapters of the other rows.
    /// Rows of an adapter this layer does not hold (an adapter targeting other modules) get the base output. The
    /// caller owns <paramref name="rows"/> and clears it before disposing it.
    /// </summary>
    public void SetRowAdapters(RowAdapters? rows)
    {
        if (rows is not null && _merged.Count > 0)
            throw new InvalidOperationException($"adapter(s) {string.Join(", ", _merged)} are merged into the base weight: rows cannot choose adapters");
        _rowAdapters.Value = rows;
    }

    (double Scaling, double Dropout) Settings(string name) =>
        _settings.TryGetValue(name, out var s) ? s : throw new KeyNotFoundException($"no LoRA adapter named '{name}' (have: {string.Join(", ", _settings.Keys)})");

    /// <summary>scaling * B @ A in float32 (the change the adapter makes to the base weight).</summary>
    public Tensor DeltaWeight(string adapter)
    {
        using var scope = NewDisposeScope();
        var (scaling, _) = Settings(adapter);
        using var _ng = no_grad();
        var delta = lora_B[adapter].weight.matmul(lora_A[adapter].weight).mul(Scalars.Of(scaling));
        return delta.MoveToOuterDisposeScope();
    }

    /// <summary>W += scaling * B @ A (a quantized base is dequantized, added to and requantized, as peft does).</summary>
    public void Merge(string? adapter = null)
    {
        string name = adapter ?? ActiveAdapter ?? throw new InvalidOperationException("no active adapter to merge");
        if (_merged.Contains(name)) throw new InvalidOperationException($"adapter '{name}' is already merged");
        AddToBase(name, +1);
        _merged.Add(name);
    }

    /// <summary>Exact inverse of <see cref="Merge"/> for a float base (within rounding); a quantized base is requantized again.</summary>
    public void Unmerge(string? adapter = null)
    {
        string name = adapter ?? ActiveAdapter ?? throw new InvalidOperationException("no active adapter to unmerge");
        if (!_merged.Remove(name)) throw new InvalidOperationException($"adapter '{name}' is not merged");
        AddToBase(name, -1);
    }

    void AddToBase(string name, int sign)
    {
        using var scope = NewDisposeScope();
        using var _ng = no_grad();
        var delta = DeltaWeight(name);
        switch (base_layer)
        {
            case Linear l:
                l.weight.add_(delta.to(l.weight.dtype), alpha: Scalars.Of((long)sign));
                break;
            case IQuantizedLinear q:
                var w = q.DequantizeWeight(ScalarType.Float32);
                q.Requantize(w.add_(delta, alpha: Scalars.Of((long)sign)));
                break;
        }
    }

    Device BaseDevice() => base_layer.buffers().Concat(base_layer.parameters()).FirstOrDefault()?.device ?? CPU;

    // module.to(dtype) casts the frozen base only: LoRA weights keep their dtype (float32 unless
    // CastAdapter said otherwise; their AdamW moments take it). Device moves apply to everything.
    protected override Module _to(Device device, ScalarType dtype, bool non_blocking)
    {
        base_layer.to(device, dtype, non_blocking);
        lora_A.to(device, non_blocking);
        lora_B.to(device, non_blocking);
        DropStack();
        return this;
    }

    protected override Module _to(ScalarType dtype, bool non_blocking)
    {
        base_layer.to(dtype, non_blocking);
        return this;
    }

    public override Tensor forward(Tensor input)
    {
        if (_rowAdapters.Value is { } rows) return RoutedForward(input, rows);
        var result = base_layer.call(input);
        if (ActiveAdapter is not { } name || _merged.Contains(name)) return result;
        using var scope = NewDisposeScope();
        var (scaling, dropout) = _settings[name];
        Tensor a = lora_A[name].weight!;
        Tensor b = lora_B[name].weight!;
        if (ComputeDType is { } compute && compute != a.dtype) { a = a.to(compute); b = b.to(compute); }
        var x = input.dtype == a.dtype ? input : input.to(a.dtype);
        if (dropout > 0 && training) x = nn.functional.dropout(x, dropout, training: true);
        var lora = nn.functional.linear(nn.functional.linear(x, a), b);
        // bf16 result + fp32 LoRA promotes to fp32: the sum is exact before the one rounding back
        var sum = result.PlusScaled(lora, scaling);
        if (sum.dtype != result.dtype) sum = sum.to(result.dtype);
        result.Dispose();
        return sum.MoveToOuterDisposeScope();
    }

    Tensor RoutedForward(Tensor input, RowAdapters rows)
    {
        if (input.size(0) != rows.BatchSize)
            throw new ArgumentException($"row adapters were set for a batch of {rows.BatchSize}, but the input has {input.size(0)} rows");
        bool perRow = rows.PerRow && input.size(0) > 1;
        var result = perRow ? BaseRowwise(input) : base_layer.call(input);
        bool whole = rows.Groups.Count == 1;
        if (!whole && Stack(rows, input) is { } stack) return GatheredForward(input, rows, result, stack);
        using var scope = NewDisposeScope();
        foreach (var (name, index) in rows.Groups)
        {
            if (name is null || !_settings.TryGetValue(name, out var settings)) continue;
            var a = lora_A[name].weight;
            var b = lora_B[name].weight;
            var x = whole ? input : input.index_select(0, index);
            if (x.dtype != a.dtype) x = x.to(a.dtype);
            var lora = perRow && x.size(0) > 1
                ? RowwiseLinear.Apply(RowwiseLinear.Apply(x, a, null), b, null)
                : nn.functional.linear(nn.functional.linear(x, a), b);
            var sum = (whole ? result : result.index_select(0, index)).PlusScaled(lora, settings.Scaling);
            if (sum.dtype != result.dtype) sum = sum.to(result.dtype);
            if (whole)
            {
                result.Dispose();
                return sum.MoveToOuterDisposeScope();
            }
            result.index_copy_(0, index, sum);
        }
        return result;
    }

    /// <summary>
    /// A batch mixing adapters in one pass, as punica/S-LoRA gather them: every row takes its own adapter's A and B
    /// out of a stack (zeros where it has none) and one batched product per factor computes all rows, instead of a
    /// gather, two products and a scatter per adapter; ten adapters then cost what two do. Each batch entry is the
    /// single-row product the row alone computes (see <see cref="RowwiseLinear"/>), and a row without an adapter adds
    /// scaling x 0, which leaves its base output as it is.
    /// </summary>
    Tensor GatheredForward(Tensor input, RowAdapters rows, Tensor result, AdapterStack stack)
    {
        using var scope = NewDisposeScope();
        var index = rows.StackIndex(stack.Names);
        var a = stack.A.index_select(0, index);                          // [B, r, in]
        var b = stack.B.index_select(0, index);                          // [B, out, r]
        var x = input.dtype == a.dtype ? input : input.to(a.dtype);      // [B, T, in]
        var lora = bmm(bmm(x, a.transpose(1, 2)), b.transpose(1, 2));    // [B, T, out]
        var sum = result.PlusScaled(lora, stack.Scaling);
        if (sum.dtype != result.dtype) sum = sum.to(result.dtype);
        result.Dispose();
        return sum.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// This layer's adapters stacked for <see cref="GatheredForward"/>, or null where the batch needs the per-adapter
    /// path: adapters of different ranks or scalings (a stack pads nothing: a padded product would round differently),
    /// or products so small that libtorch's batched kernel switches to its naive loop (see <see cref="RowwiseLinear"/>).
    /// </summary>
    AdapterStack? Stack(RowAdapters rows, Tensor input)
    {
        if (_settings.Count == 0 || !rows.Adapters.Any(a => a is not null && _settings.ContainsKey(a))) return null;
        if (_unstackable) return null;
        if (_stack is null)
        {
            var names = _settings.Keys.Order(StringComparer.Ordinal).ToList();
            var firstA = lora_A[names[0]].weight!;
            var firstB = lora_B[names[0]].weight!;
            _unstackable = names.Any(n => lora_A[n].weight!.size(0) != firstA.size(0) || _settings[n].Scaling != _settings[names[0]].Scaling
                || lora_A[n].weight!.dtype != firstA.dtype || lora_B[n].weight!.dtype != firstA.dtype);
            if (_unstackable) return null;
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var a = stack(names.Select(n => lora_A[n].weight!.detach()).Prepend(zeros_like(firstA)).ToList());   // [n + 1, r, in]
            var b = stack(names.Select(n => lora_B[n].weight!.detach()).Prepend(zeros_like(firstB)).ToList());   // [n + 1, out, r]
            _stack = new AdapterStack(names, a.DetachFromDisposeScope(), b.DetachFromDisposeScope(), _settings[names[0]].Scaling);
        }
        long t = input.size(1), r = _stack.A.size(1);
        return t * InFeatures * r < RowwiseLinear.NaiveKernelBelow || t * r * OutFeatures < RowwiseLinear.NaiveKernelBelow ? null : _stack;
    }

    void DropStack()
    {
        _stack?.Dispose();
        _stack = null;
        _unstackable = false;
    }

    sealed record AdapterStack(IReadOnlyList<string> Names, Tensor A, Tensor B, double Scaling) : IDisposable
    {
        public void Dispose()
        {
            A.Dispose();
            B.Dispose();
        }
    }

    /// <summary>The base layer's output with each row computed as if alone (its forward, row by row, in one call).</summary>
    Tensor BaseRowwise(Tensor input)
    {
        switch (base_layer)
        {
            case Linear l:
                return RowwiseLinear.Apply(input, l.weight!, l.bias);
            case IQuantizedLinear q:
                // as Nf4Linear/Int8Linear.forward: the weight dequantized in the input's dtype, then the bias in the result's
                using (var weight = q.DequantizeWeight(input.dtype))
                {
                    var y = RowwiseLinear.Apply(input, weight, null);
                    if (q.Bias is null) return y;
                    using (y) using (var bias = q.Bias.to(y.dtype)) return y.Plus(bias);
                }
            default:
                throw new InvalidOperationException($"no per-row computation for a {base_layer.GetType().Name} base layer");
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            DropStack();
            _rowAdapters.Dispose();
        }
        base.Dispose(disposing);
    }
}
