using MultiLora.Core.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Lora.Quantization;

/// <summary>
/// NormalFloat4 (QLoRA) blockwise quantization, bit-compatible with bitsandbytes' reference
/// implementation (backends/default/ops.py): absmax per block of the row-major flatten, nearest
/// code by bucketize over the midpoints (a tie goes to the lower code), even element in the high nibble.
/// All work is tensor ops, so it runs at memory speed on 100M+ parameter weights.
/// </summary>
public static class Nf4
{
    public const int DefaultBlockSize = 64;

    /// <summary>bitsandbytes get_4bit_type("nf4"), as float32 literals.</summary>
    static readonly float[] CodeArray =
    [
        -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
        -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
        0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
        0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f,
    ];

    public static IReadOnlyList<float> CodeValues { get; } = Array.AsReadOnly(CodeArray);

    /// <summary>The 16 codes as a float32 tensor (a fresh tensor: callers own it).</summary>
    public static Tensor Codes(Device? device = null) => torch.tensor(CodeArray, device: device);

    /// <summary>(code[i] + code[i+1]) / 2 computed in float32 as bitsandbytes does.</summary>
    public static Tensor Midpoints(Device? device = null)
    {
        using var c = Codes(device);
        return c[..^1].Plus(c[1..]).div(Scalars.Of(2L));
    }

    /// <summary>
    /// Quantizes any float tensor: returns the packed codes (uint8 [ceil(n/2), 1], bitsandbytes' shape)
    /// and the float32 absmax per block (a partial last block has its own).
    /// </summary>
    public static (Tensor Packed, Tensor Absmax) Quantize(Tensor weight, int blockSize = DefaultBlockSize)
    {
        if (blockSize <= 0 || blockSize % 2 != 0) throw new ArgumentException($"NF4 block size must be positive and even, got {blockSize}");
        using var scope = NewDisposeScope();
        var flat = weight.reshape(-1);
        long n = flat.numel();
        // Chunks of whole blocks keep the float temporaries (about six copies of the input) small,
        // so quantizing a big layer does not need several times its size in memory.
        long chunk = Math.Max(blockSize, QuantizeChunkElements / blockSize * blockSize);
        var packedParts = new List<Tensor>();
        var absmaxParts = new List<Tensor>();
        using var mid = Midpoints(weight.device);
        for (long start = 0; start < n || start == 0; start += chunk)
        {
            using var inner = NewDisposeScope();
            long len = Math.Min(chunk, n - start);
            var (scaled, absmax) = ScaleBlockwise(flat.narrow(0, start, len), blockSize);
            var codes = torch.bucketize(scaled, mid, outInt32: true);
            packedParts.Add(Pack(codes).MoveToOuterDisposeScope());
            absmaxParts.Add(absmax.MoveToOuterDisposeScope());
            if (n == 0) break;
        }
        var packed = packedParts.Count == 1 ? packedParts[0] : torch.cat(packedParts);
        var absmaxAll = absmaxParts.Count == 1 ? absmaxParts[0] : torch.cat(absmaxParts);
        return (packed.MoveToOuterDisposeScope(), absmaxAll.MoveToOuterDisposeScope());
    }

    /// <summary>Elements quantized per pass (a multiple of every bitsandbytes block size).</summary>
    const long QuantizeChunkElements = 1L << 22;

    /// <summary>x / absmax per block, clamped to [-1, 1], flattened; plus the float32 absmax per block.</summary>
    internal static (Tensor Scaled, Tensor Absmax) ScaleBlockwise(Tensor values, int blockSize)
    {
        if (blockSize <= 0) throw new ArgumentException($"block size must be positive, got {blockSize}");
        var flat = values.reshape(-1).to(ScalarType.Float32);
        long n = flat.numel();
        long rem = n % blockSize, full = n - rem, blocks = full / blockSize;
        var absmax = torch.empty(0, ScalarType.Float32, flat.device);
        var scaled = torch.empty(0, ScalarType.Float32, flat.device);
        if (full > 0)
        {
            var com = flat.narrow(0, 0, full).reshape(blocks, blockSize);
            absmax = com.abs().amax(-1);
            // bitsandbytes multiplies by the reciprocal (not a division): keep that for identical rounding.
            scaled = torch.clamp(com * absmax.clamp_min(Scalars.Of(1e-38)).reciprocal().view(-1, 1), Scalars.Of(-1L), Scalars.One).reshape(-1);
        }
        if (rem > 0)
        {
            var tail = flat.narrow(0, full, rem);
            var am = tail.abs().max().clamp_min(Scalars.Of(1e-38));
            absmax = torch.cat([absmax, am.unsqueeze(0)]);
            scaled = torch.cat([scaled, torch.clamp(tail / am, Scalars.Of(-1L), Scalars.One)]);
        }
        return (scaled, absmax);
    }

    /// <summary>Packs 4-bit codes (any integer dtype, values 0..15) two per byte, even element high; odd counts pad a zero.</summary>
    public static Tensor Pack(Tensor codes)
    {
        using var scope = NewDisposeScope();
        var q = codes.reshape(-1).to(ScalarType.Int32);
        if (q.numel() % 2 == 1) q = torch.cat([q, torch.zeros(1, ScalarType.Int32, q.device)]);
        var pairs = q.view(-1, 2);
        var packed = pairs[.., 0].mul(Scalars.Of(16L)).Plus(pairs[.., 1]).to(ScalarType.Byte).unsqueeze(1);
        return packed.MoveToOuterDisposeScope();
    }

    /// <summary>The first <paramref name="count"/> 4-bit codes of packed bytes, as int64.</summary>
    public static Tensor Unpack(Tensor packed, long count)
    {
        using var scope = NewDisposeScope();
        var p = packed.reshape(-1).to(ScalarType.Int64);
        if (count > p.numel() * 2) throw new ArgumentException($"cannot unpack {count} codes from {p.numel()} bytes");
        var codes = torch.stack([p.bitwise_right_shift(4), p.bitwise_and(15)], 1).reshape(-1).narrow(0, 0, count);
        return codes.contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>Reconstructs a tensor of <paramref name="shape"/> in <paramref name="dtype"/> from packed codes and float32 absmax.</summary>
    public static Tensor Dequantize(Tensor packed, Tensor absmax, long[] shape, ScalarType dtype, int blockSize = DefaultBlockSize)
    {
        using var scope = NewDisposeScope();
        long n = shape.Aggregate(1L, (a, b) => a * b);
        if (n > packed.numel() * 2) throw new ArgumentException($"cannot dequantize {n} values from {packed.numel()} bytes");
        // One lookup per byte into a 256 x 2 table of (high code, low code) values: the same numbers as
        // code[unpack(packed)], with half the indices and no shift/mask temporaries.
        using var pairs = BytePairTable(packed.device);
        var values = pairs.index_select(0, packed.reshape(-1).to(ScalarType.Int32)).reshape(-1);
        if (values.numel() != n) values = values.narrow(0, 0, n);
        var result = ScaleBack(values, absmax.to(ScalarType.Float32), blockSize).reshape(shape).to(dtype);
        return result.MoveToOuterDisposeScope();
    }

    static readonly float[] BytePairs = Enumerable.Range(0, 256)
        .SelectMany(b => new[] { CodeArray[b >> 4], CodeArray[b & 15] }).ToArray();

    /// <summary>[256, 2]: row b holds (code[b &gt;&gt; 4], code[b &amp; 15]).</summary>
    static Tensor BytePairTable(Device device) => torch.tensor(BytePairs, [256, 2], device: device);

    /// <summary>values * absmax of their block (values flattened, float32).</summary>
    internal static Tensor ScaleBack(Tensor values, Tensor absmax, int blockSize)
    {
        long n = values.numel();
        long rem = n % blockSize, full = n - rem, blocks = full / blockSize;
        long expectedBlocks = blocks + (rem > 0 ? 1 : 0);
        if (absmax.numel() != expectedBlocks)
            throw new ArgumentException($"absmax has {absmax.numel()} entries; {n} values in blocks of {blockSize} need {expectedBlocks}");
        if (rem == 0) return (values.view(-1, blockSize) * absmax.view(-1, 1)).reshape(n);
        var head = (values.narrow(0, 0, full).view(-1, blockSize) * absmax.narrow(0, 0, blocks).view(-1, 1)).reshape(full);
        var tail = values.narrow(0, full, rem) * absmax[blocks];
        return torch.cat([head, tail]);
    }
}
