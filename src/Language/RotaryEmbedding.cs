using MultiLora.Core.Tensors;
using static TorchSharp.torch;

namespace MultiLora.Language;

/// <summary>
/// Rotary position embedding (RoPE). Frequencies are computed once on the host in double precision
/// (then float32, as transformers does). Explicit positions (left-padded batches) get cos/sin tables per call;
/// the common case, positions start..start+T-1 for every row (training, unpadded prefill and decoding), reads
/// views of tables computed once per device and dtype, so a step allocates no tables and uploads nothing (the
/// frequency vector too is kept per device: an upload per forward is a host-device synchronisation on a GPU).
/// Both routes compute each position's values with the same ops, so they agree bit for bit.
/// </summary>
public sealed class RotaryEmbedding : IDisposable
{
    readonly float[] _invFreq; // [headDim / 2]
    readonly object _gate = new();
    readonly Dictionary<string, Tensor> _invFreqOn = new(StringComparer.Ordinal);
    readonly Dictionary<(string Device, ScalarType DType), (Tensor Cos, Tensor Sin)> _tables = new();
    const long MinTableLength = 256;

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
        var (cos, sin) = Compute(positions.unsqueeze(1), dtype);                 // [B, 1, T, D]
        return (cos.MoveToOuterDisposeScope(), sin.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// cos and sin [1, 1, T, headDim] for positions start..start+T-1 (broadcast over the batch): views of tables
    /// kept per device and dtype, grown (doubling) when a longer range is asked for. The views are the caller's
    /// to dispose; the tables live until <see cref="Dispose"/>.
    /// </summary>
    public (Tensor Cos, Tensor Sin) Range(long start, long length, Device device, ScalarType dtype)
    {
        lock (_gate)
        {
            var key = (device.ToString(), dtype);
            long needed = start + length;
            if (!_tables.TryGetValue(key, out var t) || t.Cos.size(2) < needed)
            {
                long size = Math.Max(MinTableLength, t.Cos is null ? needed : Math.Max(needed, 2 * t.Cos.size(2)));
                using (var scope = NewDisposeScope())
                {
                    var (cos, sin) = Compute(Ranges.Arange(0, size, device: device).unsqueeze(0).unsqueeze(0), dtype);
                    t.Cos?.Dispose(); t.Sin?.Dispose();
                    _tables[key] = t = (cos.DetachFromDisposeScope(), sin.DetachFromDisposeScope());
                }
            }
            return (t.Cos.narrow(2, start, length), t.Sin.narrow(2, start, length));
        }
    }

    /// <summary>positions [..., T] (any integer dtype) to cos/sin [..., T, D] in dtype.</summary>
    (Tensor Cos, Tensor Sin) Compute(Tensor positions, ScalarType dtype)
    {
        var freqs = positions.to(ScalarType.Float32).unsqueeze(-1) * InvFreq(positions.device);   // [..., T, D/2]
        var emb = cat([freqs, freqs], -1);                                                         // [..., T, D]
        return (emb.cos().to(dtype), emb.sin().to(dtype));
    }

    Tensor InvFreq(Device device)
    {
        lock (_gate)
        {
            string key = device.ToString();
            if (!_invFreqOn.TryGetValue(key, out var t))
                _invFreqOn[key] = t = tensor(_invFreq, device: device).DetachFromDisposeScope();
            return t;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var t in _invFreqOn.Values) t.Dispose();
            foreach (var (cos, sin) in _tables.Values) { cos.Dispose(); sin.Dispose(); }
            _invFreqOn.Clear(); _tables.Clear();
        }
    }

    /// <summary>x * cos + rotate_half(x) * sin, for x [B, H, T, D].</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        long half = x.size(-1) / 2;
        var x1 = x.narrow(-1, 0, half);
        var x2 = x.narrow(-1, half, half);
        var rotated = cat([-x2, x1], -1);
        return (x * cos).Plus(rotated * sin).MoveToOuterDisposeScope();
    }
}
