using MultiLora.Core.Tensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MultiLora.Lora.Quantization;

/// <summary>
/// A frozen linear layer stored in NF4 (bitsandbytes Linear4bit layout): packed codes, per-block absmax
/// (8-bit double-quantized with a float32 second-level absmax per 256 blocks and an offset, or plain
/// float32), and an optional bias. The weight is dequantized inside forward, in the input's dtype, and
/// dropped again; no dequantized copy is kept. Gradients reach the input, never the weight.
/// </summary>
public sealed class Nf4Linear : Module<Tensor, Tensor>, IQuantizedLinear
{
    // Field names are the state_dict names (TorchSharp registers fields by name).
    Tensor weight;                 // uint8 [ceil(n/2), 1]: two codes per byte
    Tensor absmax;                 // uint8 [blocks] when double-quantized, else float32 [blocks]
    Tensor? nested_absmax;         // float32 [ceil(blocks/256)]
    Tensor? nested_offset;         // float32 scalar: mean of the first-level absmax
    Parameter? bias;

    /// <summary>The 8-bit map of the double quantization (a loaded checkpoint's own, else <see cref="DynamicMap8.CodeValues"/>).</summary>
    public IReadOnlyList<float> NestedCodes { get; }

    // The map as a tensor per device, so forward does not upload it every call. A dictionary, not a
    // Tensor field: TorchSharp would register a Tensor field as a buffer.
    readonly Dictionary<string, Tensor> _nestedTable = new(StringComparer.Ordinal);

    Tensor NestedTable(Device device)
    {
        string key = device.ToString();
        if (!_nestedTable.TryGetValue(key, out var t))
            _nestedTable[key] = t = torch.tensor(NestedCodes.ToArray(), device: device).DetachFromDisposeScope();
        return t;
    }

    public long InFeatures { get; }
    public long OutFeatures { get; }
    public int BlockSize { get; }
    public bool DoubleQuant => nested_absmax is not null;

    /// <summary>The dtype the weight had before quantization (bitsandbytes' quant_state "dtype").</summary>
    public ScalarType OriginalDType { get; }

    public Tensor PackedWeight => weight;
    public Tensor Absmax => absmax;
    public Tensor? NestedAbsmax => nested_absmax;
    public Tensor? NestedOffset => nested_offset;
    public Parameter? Bias => bias;

    Nf4Linear(long outFeatures, long inFeatures, int blockSize, ScalarType originalDType,
              Tensor packed, Tensor absmax, Tensor? nestedAbsmax, Tensor? nestedOffset, Tensor? bias,
              IReadOnlyList<float>? nestedCodes = null) : base(nameof(Nf4Linear))
    {
        NestedCodes = nestedCodes ?? DynamicMap8.CodeValues;
        OutFeatures = outFeatures; InFeatures = inFeatures; BlockSize = blockSize; OriginalDType = originalDType;
        // Detached from any dispose scope: the module owns these until it is disposed.
        weight = packed.DetachFromDisposeScope();
        this.absmax = absmax.DetachFromDisposeScope();
        nested_absmax = nestedAbsmax?.DetachFromDisposeScope();
        nested_offset = nestedOffset?.DetachFromDisposeScope();
        this.bias = bias is null ? null : (Parameter)new Parameter(bias, requires_grad: false).DetachFromDisposeScope();
        RegisterComponents();
    }

    /// <summary>Quantizes <paramref name="weight"/> [out, in]; the input is not disposed (see <see cref="Quantizer.FromWeight"/>).</summary>
    public static Nf4Linear FromWeight(Tensor weight, Tensor? bias = null, int blockSize = Nf4.DefaultBlockSize, bool doubleQuant = true)
    {
        if (weight.dim() != 2) throw new ArgumentException($"Nf4Linear: weight must be [out, in], got [{string.Join(", ", weight.shape)}]");
        Tensor packed, absmax; Tensor? nested, offset, b;
        using (var scope = NewDisposeScope())
        {
            (packed, absmax, nested, offset) = QuantizeState(weight.detach(), blockSize, doubleQuant, DynamicMap8.CodeValues);
            b = bias?.detach().clone();
            packed.MoveToOuterDisposeScope(); absmax.MoveToOuterDisposeScope();
            nested?.MoveToOuterDisposeScope(); offset?.MoveToOuterDisposeScope(); b?.MoveToOuterDisposeScope();
        }
        return new Nf4Linear(weight.shape[0], weight.shape[1], blockSize, weight.dtype, packed, absmax, nested, offset, b);
    }

    /// <summary>Builds a layer from stored state (bitsandbytes checkpoint tensors), checking sizes.</summary>
    public static Nf4Linear FromState(long outFeatures, long inFeatures, int blockSize, ScalarType originalDType,
                                      Tensor packed, Tensor absmax, Tensor? nestedAbsmax, Tensor? nestedOffset, Tensor? bias, string where,
                                      IReadOnlyList<float>? nestedCodes = null)
    {
        if (nestedCodes is not null) DynamicMap8.Validate(nestedCodes, where);
        long n = outFeatures * inFeatures;
        long blocks = (n + blockSize - 1) / blockSize;
        if (packed.numel() != (n + 1) / 2)
            throw new InvalidDataException($"{where}: packed weight has {packed.numel()} bytes, shape [{outFeatures}, {inFeatures}] needs {(n + 1) / 2}");
        if (absmax.numel() != blocks)
            throw new InvalidDataException($"{where}: absmax has {absmax.numel()} entries, expected {blocks} (blocksize {blockSize})");
        if (nestedAbsmax is not null && nestedAbsmax.numel() != (blocks + DynamicMap8.NestedBlockSize - 1) / DynamicMap8.NestedBlockSize)
            throw new InvalidDataException($"{where}: nested_absmax has {nestedAbsmax.numel()} entries, expected {(blocks + 255) / 256}");
        if (bias is not null && bias.numel() != outFeatures)
            throw new InvalidDataException($"{where}: bias has {bias.numel()} entries, expected {outFeatures}");
        return new Nf4Linear(outFeatures, inFeatures, blockSize, originalDType, packed.reshape(-1, 1), absmax, nestedAbsmax, nestedOffset, bias, nestedCodes);
    }

    static (Tensor Packed, Tensor Absmax, Tensor? Nested, Tensor? Offset) QuantizeState(Tensor weight, int blockSize, bool doubleQuant, IReadOnlyList<float> nestedCodes)
    {
        var (packed, absmax) = Nf4.Quantize(weight, blockSize);
        if (!doubleQuant) return (packed, absmax, null, null);
        var offset = absmax.mean();
        var (q, nested) = DynamicMap8.QuantizeBlockwise(absmax - offset, DynamicMap8.NestedBlockSize, nestedCodes);
        absmax.Dispose();
        return (packed, q, nested, offset);
    }

    /// <summary>The first-level absmax in float32 (undoing the double quantization).</summary>
    public Tensor AbsmaxFloat()
    {
        if (nested_absmax is null) return absmax.to(ScalarType.Float32);
        using var scope = NewDisposeScope();
        return DynamicMap8.DequantizeBlockwise(absmax, nested_absmax, NestedTable(absmax.device), DynamicMap8.NestedBlockSize).Plus(nested_offset!).MoveToOuterDisposeScope();
    }

    public Tensor DequantizeWeight(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var am = AbsmaxFloat();
        return Nf4.Dequantize(weight, am, [OutFeatures, InFeatures], dtype, BlockSize).MoveToOuterDisposeScope();
    }

    public void Requantize(Tensor newWeight)
    {
        if (newWeight.shape[0] != OutFeatures || newWeight.shape[1] != InFeatures)
            throw new ArgumentException($"Nf4Linear.Requantize: weight [{string.Join(", ", newWeight.shape)}] does not match [{OutFeatures}, {InFeatures}]");
        using var scope = NewDisposeScope();
        var (packed, am, nested, offset) = QuantizeState(newWeight.detach().to(weight.device), BlockSize, DoubleQuant, NestedCodes);
        // Detached (not moved to an outer scope): the module owns the new state beyond any caller's scope.
        Swap(ref weight, packed, nameof(weight));
        Swap(ref absmax, am, nameof(absmax));
        if (nested is not null) Swap(ref nested_absmax!, nested, nameof(nested_absmax));
        if (offset is not null) Swap(ref nested_offset!, offset, nameof(nested_offset));
    }

    void Swap(ref Tensor field, Tensor value, string name)
    {
        var old = field;
        field = value.DetachFromDisposeScope();
        ConditionallyRegisterBuffer(name, field);
        old.Dispose();
    }

    public long StorageBytes =>
        new[] { weight, absmax, nested_absmax, nested_offset, bias }.Where(t => t is not null).Sum(t => t!.numel() * t.ElementSize);

    public override Tensor forward(Tensor input)
    {
        var y = QuantizedMatMul.Apply(input, this);
        if (bias is null) return y;
        using (y) return y.Plus(bias.to(y.dtype));
    }

    // module.to(dtype) must not touch the quantized state: bitsandbytes keeps absmax and friends in
    // float32 whatever the compute dtype (the bias, too, stays put: forward casts it). Device moves apply.
    protected override Module _to(Device device, ScalarType dtype, bool non_blocking) => _to(device.type, device.index, non_blocking);

    protected override Module _to(ScalarType dtype, bool non_blocking) => this;

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            weight.Dispose(); absmax.Dispose(); nested_absmax?.Dispose(); nested_offset?.Dispose(); bias?.Dispose();
            foreach (var t in _nestedTable.Values) t.Dispose();
        }
        base.Dispose(disposing);
    }
}
