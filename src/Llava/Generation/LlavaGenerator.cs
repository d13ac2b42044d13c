using MultiLora.Core.Tensors;
using MultiLora.Language;
using MultiLora.Llava.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Llava.Generation;

/// <summary>
/// Batched autoregressive decoding with a KV cache. Prompts of different lengths are left-padded;
/// positions and the attention mask follow transformers' generate so batched outputs equal unbatched ones.
/// Prompts of one length (a single prompt, most often) need neither: positions come from the cache's length and
/// attention is plainly causal. Per token the host then reads the chosen ids once (for stop tokens and the output)
/// and uploads nothing: the next step's ids are the sampler's device tensor, the cache is preallocated for the
/// prompt plus the new tokens, the rope tables are cached.
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
        long imageTokens = prompts.Sum(p => (long)p.Count(id => id == model.Config.ImageTokenId));

        using var _ = no_grad();
        using var cache = new KvCache(model.Config.Text.NumLayers, longest + options.MaxNewTokens);
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
        var step = tensor(ids, [b, longest], device: device);
        // left padding only: the key mask grows by one column per token, positions continue per row
        Tensor? attention = padded ? tensor(keep, [b, longest], device: device) : null;
        Tensor? positions = attention is null ? null : AttentionMasks.PositionsFromPadding(attention);

        try
        {
            for (int t = 0; t < options.MaxNewTokens; t++)
            {
                using var scope = NewDisposeScope();
                var mask = attention is null ? null : AttentionMasks.CausalWithPadding(attention, step.size(1));
                var logits = model.Forward(step, t == 0 ? pixels?.to(device) : null, positions, mask, cache, t == 0 ? imageTokens : 0);   // [B, T, vocab]
                var next = sampler.Next(logits.select(1, -1));                                                 // [B]
                var chosen = next.cpu().data<long>().ToArray();
                bool anyDone = false;
                for (int r = 0; r < b; r++)
                {
                    if (done[r]) { chosen[r] = options.PadTokenId; anyDone = true; continue; }
                    outputs[r].Add((int)chosen[r]);
                    if (stop.Contains((int)chosen[r])) done[r] = anyDone = true;
                }
                if (done.All(d => d)) break;

                // finished rows keep decoding on the pad id: only then do the ids go back up from the host
                var newStep = anyDone ? tensor(chosen, [b, 1], device: device) : next.view(b, 1);
                step.Dispose();
                step = newStep.DetachFromDisposeScope();
                if (attention is not null)
                {
                    var newAttention = cat([attention, ones(b, 1, dtype: ScalarType.Int64, device: device)], 1);
                    var newPositions = positions!.select(1, -1).unsqueeze(1).add(Scalars.One, Scalars.One);
                    attention.Dispose(); positions.Dispose();
                    attention = newAttention.DetachFromDisposeScope();
                    positions = newPositions.DetachFromDisposeScope();
                }
            }
        }
        finally
        {
            step.Dispose(); attention?.Dispose(); positions?.Dispose();
        }
        return outputs.Select(o => o.ToArray()).ToList();
    }
}
