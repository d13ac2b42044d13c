using MultiLora.Core.Tensors;
using MultiLora.Language;
using MultiLora.Llava.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Llava.Generation;

/// <summary>
/// Batched autoregressive decoding with a KV cache. Prompts of different lengths are left-padded;
/// positions and the attention mask follow transformers' generate so batched outputs equal unbatched ones.
/// </summary>
public static class LlavaGenerator
{
    /// <param name="prompts">token ids per prompt (image placeholders already expanded)</param>
    /// <param name="pixels">[N, 3, H, W] for the prompts' images in order, or null</param>
    /// <returns>the new tokens of each prompt, up to and including a stop token</returns>
    public static List<int[]> Generate(LlavaForConditionalGeneration model, IReadOnlyList<int[]> prompts, Tensor? pixels, GenerationOptions options)
    {
        if (prompts.Count == 0) return [];
        var device = model.lm_head.parameters().First().device;
        int b = prompts.Count, longest = prompts.Max(p => p.Length);
        bool padded = prompts.Any(p => p.Length != longest);
        var stop = new HashSet<int>(options.StopTokenIds ?? []);
        var outputs = Enumerable.Range(0, b).Select(_ => new List<int>()).ToArray();
        var done = new bool[b];

        using var _ = no_grad();
        using var cache = new KvCache(model.Config.Text.NumLayers);
        using var sampler = new TokenSampler(options, device);

        var ids = new long[b * longest];
        var keep = new long[b * longest];
        for (int r = 0; r < b; r++)
        {
            int offset = longest - prompts[r].Length;   // left padding
            for (int i = 0; i < longest; i++)
            {
                ids[r * longest + i] = i < offset ? options.PadTokenId : prompts[r][i - offset];
                keep[r * longest + i] = i < offset ? 0 : 1;
            }
        }
        var attention = tensor(keep, [b, longest], device: device);   // [B, S] grows each step
        var step = tensor(ids, [b, longest], device: device);
        var positions = AttentionMasks.PositionsFromPadding(attention);

        try
        {
            for (int t = 0; t < options.MaxNewTokens; t++)
            {
                using var scope = NewDisposeScope();
                var mask = padded ? AttentionMasks.CausalWithPadding(attention, step.shape[1]) : null;
                var logits = model.Forward(step, t == 0 ? pixels?.to(device) : null, positions, mask, cache);   // [B, T, vocab]
                var next = sampler.Next(logits.select(1, -1));                                               // [B]
                var chosen = next.cpu().data<long>().ToArray();
                for (int r = 0; r < b; r++)
                {
                    if (done[r]) { chosen[r] = options.PadTokenId; continue; }
                    outputs[r].Add((int)chosen[r]);
                    if (stop.Contains((int)chosen[r])) done[r] = true;
                }
                if (done.All(d => d)) break;

                var newStep = tensor(chosen, [b, 1], device: device);
                var newAttention = cat([attention, ones(b, 1, dtype: ScalarType.Int64, device: device)], 1);
                var newPositions = positions.select(1, -1).unsqueeze(1).add(Scalars.One, Scalars.One);
                step.Dispose(); attention.Dispose(); positions.Dispose();
                step = newStep.DetachFromDisposeScope();
                attention = newAttention.DetachFromDisposeScope();
                positions = newPositions.DetachFromDisposeScope();
            }
        }
        finally
        {
            step.Dispose(); attention.Dispose(); positions.Dispose();
        }
        return outputs.Select(o => o.ToArray()).ToList();
    }
}
