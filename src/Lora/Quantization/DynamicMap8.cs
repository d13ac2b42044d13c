using MultiLora.Core.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Lora.Quantization;

/// <summary>
/// bitsandbytes' signed dynamic 8-bit map (create_dynamic_map(signed=True, max_exponent_bits=7,
/// total_bits=8)) and its blockwise quantizer, used for the double quantization of NF4 absmax values.
/// The map is built with the same float32 torch ops as the Python (linspace, means, scaling). Those
/// ops are not bit-reproducible across CPUs (libtorch's vectorised linspace rounds differently with
/// AVX2, AVX-512 or NEON widths), so bitsandbytes' own map differs by an ulp here and there between
/// machines; that is why checkpoints carry "nested_quant_map" and a loaded layer keeps the map it was
/// saved with (the <c>table</c> arguments below).
/// </summary>
public static class DynamicMap8
{
    public const int NestedBlockSize = 256;

    static readonly Lazy<float[]> Values = new(Build);

    public static IReadOnlyList<float> CodeValues => Values.Value;

    /// <summary>The 256 sorted codes as a fresh float32 tensor.</summary>
    public static Tensor Codes(Device? device = null) => torch.tensor(Values.Value, device: device);

    /// <summary>Checks that <paramref name="values"/> can serve as a dynamic map (256 sorted finite values in [-1, 1]).</summary>
    public static void Validate(IReadOnlyList<float> values, string where)
    {
        if (values.Count != 256) throw new InvalidDataException($"{where}: nested_quant_map has {values.Count} values, expected 256");
        for (int i = 0; i < values.Count; i++)
        {
            if (!float.IsFinite(values[i]) || Math.Abs(values[i]) > 1) throw new InvalidDataException($"{where}: nested_quant_map[{i}] = {values[i]} is outside [-1, 1]");
            if (i > 0 && values[i] < values[i - 1]) throw new InvalidDataException($"{where}: nested_quant_map is not sorted at index {i}");
        }
    }

    static float[] Build()
    {
        const int maxExponentBits = 7, totalBits = 8;
        const int nonSignBits = totalBits - 1;
        var data = new List<double>();
        using (var scope = NewDisposeScope())
        {
            for (int i = 0; i < maxExponentBits; i++)
            {
                int fractionItems = (1 << (i + nonSignBits - maxExponentBits)) + 1;
                var boundaries = torch.linspace(0.1, 1, fractionItems, ScalarType.Float32);
                var means = boundaries[..^1].Plus(boundaries[1..]).div(Scalars.Of(2.0));
                int exponent = -(maxExponentBits - 1) + i;
                // Python: (10 ** exponent) * means, an int for exponent 0 and a float otherwise; both
                // reach the float32 kernel as the same scalar.
                double scale = Math.Pow(10, exponent);
                data.AddRange(means.mul(Scalars.Of(scale)).data<float>().ToArray().Select(v => (double)v));
                data.AddRange(means.mul(Scalars.Of(-scale)).data<float>().ToArray().Select(v => (double)v));
            }
        }
        // additional_items = 2**(7-7) - 1 = 0 for the signed 8-bit map: nothing more to add.
        data.Add(0);
        data.Add(1.0);
        if (data.Count != 1 << totalBits) throw new InvalidOperationException($"dynamic map has {data.Count} values, expected 256");
        data.Sort();
        return data.Select(v => (float)v).ToArray();
    }

    /// <summary>Blockwise 8-bit quantization (bitsandbytes quantize_blockwise): codes (uint8) and float32 absmax per block.</summary>
    public static (Tensor Codes, Tensor Absmax) QuantizeBlockwise(Tensor values, int blockSize = NestedBlockSize, IReadOnlyList<float>? table = null)
    {
        using var scope = NewDisposeScope();
        var (scaled, absmax) = Nf4.ScaleBlockwise(values, blockSize);
        var code = torch.tensor((table ?? Values.Value).ToArray(), device: values.device);
        var bounds = code[..^1].Plus(code[1..]).div(Scalars.Of(2L));
        var q = torch.bucketize(scaled, bounds, outInt32: true).to(ScalarType.Byte);
        return (q.MoveToOuterDisposeScope(), absmax.MoveToOuterDisposeScope());
    }

    /// <summary>code[q] * absmax of the block, float32, flattened.</summary>
    public static Tensor DequantizeBlockwise(Tensor codes, Tensor absmax, int blockSize = NestedBlockSize, IReadOnlyList<float>? table = null)
    {
        using var code = torch.tensor((table ?? Values.Value).ToArray(), device: codes.device);
        return DequantizeBlockwise(codes, absmax, code, blockSize);
    }

    /// <summary>As above with the map already a tensor on the codes' device (no per-call upload).</summary>
    public static Tensor DequantizeBlockwise(Tensor codes, Tensor absmax, Tensor code, int blockSize)
    {
        using var scope = NewDisposeScope();
        var values = code.index_select(0, codes.reshape(-1).to(ScalarType.Int64));
        return Nf4.ScaleBack(values, absmax.to(ScalarType.Float32), blockSize).MoveToOuterDisposeScope();
    }
}
