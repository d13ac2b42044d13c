using MultiLora.Core.Tensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MultiLora.Lora.Quantization;

/// <summary>
/// A frozen linear layer stored as int8 with one float32 absmax per output row (bitsandbytes
/// Linear8bitLt's weight/SCB layout, without its outlier decomposition): W ≈ CB * SCB / 127.
/// </summary>
public sealed class Int8Linear : Module<Tensor, Tensor>, IQuantizedLinear
{
    Tensor weight;   // int8 [out, in]
    Tensor SCB;      // float32 [out]: absmax of each row
    Parameter? bias;

    public long InFeatures { get; }
    public long OutFeatures { get; }
    public Tensor QuantizedWeight => weight;
    public Tensor RowAbsmax => SCB;
    public Parameter? Bias => bias;

    Int8Linear(Tensor codes, Tensor rowAbsmax, Tensor? bias) : base(nameof(Int8Linear))
    {
        weight = codes.DetachFromDisposeScope(); SCB = rowAbsmax.DetachFromDisposeScope();
        OutFeatures = codes.shape[0]; InFeatures = codes.shape[1];
        this.bias = bias is null ? null : (Parameter)new Parameter(bias, requires_grad: false).DetachFromDisposeScope();
        RegisterComponents();
    }

    public static Int8Linear FromWeight(Tensor weight, Tensor? bias = null)
    {
        if (weight.dim() != 2) throw new ArgumentException($"Int8Linear: weight must be [out, in], got [{string.Join(", ", weight.shape)}]");
        Tensor codes, rows; Tensor? b;
        using (var scope = NewDisposeScope())
        {
            (codes, rows) = Quantize(weight.detach());
            b = bias?.detach().clone();
            codes.MoveToOuterDisposeScope(); rows.MoveToOuterDisposeScope(); b?.MoveToOuterDisposeScope();
        }
        return new Int8Linear(codes, rows, b);
    }

    public static Int8Linear FromState(Tensor codes, Tensor rowAbsmax, Tensor? bias, string where)
    {
        if (codes.dim() != 2 || codes.dtype != ScalarType.Int8)
            throw new InvalidDataException($"{where}: int8 weight must be a 2-D int8 tensor, got {codes.dtype} [{string.Join(", ", codes.shape)}]");
        if (rowAbsmax.numel() != codes.shape[0])
            throw new InvalidDataException($"{where}: SCB has {rowAbsmax.numel()} entries, expected {codes.shape[0]}");
        return new Int8Linear(codes, rowAbsmax.to(ScalarType.Float32), bias);
    }

    static (Tensor Codes, Tensor RowAbsmax) Quantize(Tensor w)
    {
        var f = w.to(ScalarType.Float32);
        var rows = f.abs().amax(1);
        // bitsandbytes int8_vectorwise_quant: round(A * (127 / absmax)); an all-zero row stays zero.
        // (127.0 / x is x.reciprocal() * 127.0 in TorchSharp and PyTorch alike)
        var codes = torch.round(f * rows.clamp_min(Scalars.Of(1e-30)).reciprocal().mul(Scalars.Of(127.0)).unsqueeze(1)).clamp(Scalars.Of(-127L), Scalars.Of(127L)).to(ScalarType.Int8);
        return (codes, rows);
    }

    public Tensor DequantizeWeight(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var w = weight.to(ScalarType.Float32) * SCB.DividedBy(127.0).unsqueeze(1);
        return w.to(dtype).MoveToOuterDisposeScope();
    }

    public void Requantize(Tensor newWeight)
    {
        if (newWeight.shape[0] != OutFeatures || newWeight.shape[1] != InFeatures)
            throw new ArgumentException($"Int8Linear.Requantize: weight [{string.Join(", ", newWeight.shape)}] does not match [{OutFeatures}, {InFeatures}]");
        using var scope = NewDisposeScope();
        var (codes, rows) = Quantize(newWeight.detach().to(weight.device));
        var oldW = weight; var oldS = SCB;
        // Detached (not moved to an outer scope): the module owns the new state beyond any caller's scope.
        weight = codes.DetachFromDisposeScope();
        SCB = rows.DetachFromDisposeScope();
        ConditionallyRegisterBuffer(nameof(weight), weight);
        ConditionallyRegisterBuffer(nameof(SCB), SCB);
        oldW.Dispose(); oldS.Dispose();
    }

    public long StorageBytes =>
        weight.numel() * weight.ElementSize + SCB.numel() * SCB.ElementSize + (bias is null ? 0 : bias.numel() * bias.ElementSize);

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
        if (disposing) { weight.Dispose(); SCB.Dispose(); bias?.Dispose(); }
        base.Dispose(disposing);
    }
}
