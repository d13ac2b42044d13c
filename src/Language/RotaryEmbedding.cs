using MultiLora.Core.Tensors;
using static TorchSharp.torch;

namespace MultiLora.Language;

/// <summary>
/// Rotary position embedding (RoPE). Frequencies are computed once on the host in double precision
/// (then float32, as transformers does) and turned into cos/sin tables per forward call for the
/// positions given, so left-padded batches and KV-cached decoding use their true positions.
/// </summary>
public sealed class RotaryEmbedding
{
    readonly float[] _invFreq; // [headDim / 2]

    public RotaryEmbedding(int headDim, RopeSettings rope)
    {
        _invFreq = new float[headDim / 2];
        for (int i = 0; i < _invFreq.Length; i++)
        {
            // transformers: 1 / base ** (arange(0, dim, 2).float() / dim), in float32
            float exponent = (float)(2 * i) / headDim;
            _invFreq[i] = 1.0f / MathF.Pow((float)rope.Theta, exponent);
        }
        switch (rope.Type)
        {
            case "linear":
                for (int i = 0; i < _invFreq.Length; i++) _invFreq[i] = (float)(_invFreq[i] / rope.Factor);
                break;
            case "llama3":
                ApplyLlama3(rope);
                break;
        }
    }

    void ApplyLlama3(RopeSettings r)
    {
        double lowWavelen = r.OriginalMaxPositions / r.LowFreqFactor;
        double highWavelen = r.OriginalMaxPositions / r.HighFreqFactor;
        for (int i = 0; i < _invFreq.Length; i++)
        {
            double f = _invFreq[i];
            double wavelen = 2 * Math.PI / f;
            if (wavelen > lowWavelen) f /= r.Factor;                       // low frequencies: interpolate
            else if (wavelen >= highWavelen)                                  // medium: blend
            {
                double smooth = (r.OriginalMaxPositions / wavelen - r.LowFreqFactor) / (r.HighFreqFactor - r.LowFreqFactor);
                f = (1 - smooth) * f / r.Factor + smooth * f;
            }
            _invFreq[i] = (float)f;
        }
    }

    /// <summary>cos and sin tables [B, 1, T, headDim] for integer positions [B, T], in <paramref name="dtype"/>.</summary>
    public (Tensor Cos, Tensor Sin) Tables(Tensor positions, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var invFreq = tensor(_invFreq, device: positions.device);                // [D/2]
        var freqs = positions.to(ScalarType.Float32).unsqueeze(-1) * invFreq;    // [B, T, D/2]
        var emb = cat([freqs, freqs], -1).unsqueeze(1);                          // [B, 1, T, D]
        var cos = emb.cos().to(dtype).MoveToOuterDisposeScope();
        var sin = emb.sin().to(dtype).MoveToOuterDisposeScope();
        return (cos, sin);
    }

    /// <summary>x * cos + rotate_half(x) * sin, for x [B, H, T, D].</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        long half = x.shape[^1] / 2;
        var x1 = x.narrow(-1, 0, half);
        var x2 = x.narrow(-1, half, half);
        var rotated = cat([-x2, x1], -1);
        return (x * cos).Plus(rotated * sin).MoveToOuterDisposeScope();
    }
}
