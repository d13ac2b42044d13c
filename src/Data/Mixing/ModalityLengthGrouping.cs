using MultiLora.Data.Model;

namespace MultiLora.Data.Mixing;

/// <summary>
/// LLaVA's group_by_modality_length (llava/train/llava_trainer.py: get_modality_length_grouped_indices,
/// get_length_grouped_indices, split_to_even_chunks). Lengths follow LLaVA's modality_lengths: positive for a
/// sample with an image, negative (minus the length) for a text-only one. Each modality is shuffled, cut into
/// megabatches of batch_size * world_size, each megabatch sorted by length (longest first) and split into
/// world_size chunks of similar total length; the full megabatches of both modalities are then shuffled together.
/// One deliberate difference: LLaVA joins the two leftover partial megabatches into one mixed batch; here they
/// stay separate (image leftovers, then text leftovers), so no batch ever mixes modalities.
/// LLaVA draws the per-modality shuffles from torch's global generator; here one seeded generator drives all.
/// </summary>
public static class ModalityLengthGrouping
{
    /// <summary>
    /// LLaVA's modality_lengths entry for a record: the number of whitespace-separated words over all turns,
    /// positive with an image, negative without. (LLaVA asserts on 0; an empty record counts as 1 word here,
    /// the validator rejects it later anyway.)
    /// </summary>
    public static int ModalityLength(Conversation conversation)
    {
        var words = Math.Max(1, conversation.Turns.Sum(t => t.Value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length));
        return conversation.HasImage ? words : -words;
    }

    /// <summary>
    /// The batches of one epoch, each a list of sample indices of one modality (each world_size chunk of a
    /// megabatch is one batch, as HF's trainer slices the flattened order). Pass a generator seeded per epoch.
    /// </summary>
    public static IReadOnlyList<int[]> Batches(IReadOnlyList<int> lengths, int batchSize, int worldSize, SeededRandom random) =>
        Megabatches(lengths, batchSize, worldSize, random).SelectMany(m => m).Where(b => b.Length > 0).ToList();

    /// <summary>The flattened order, as LLaVA's sampler yields it.</summary>
    public static int[] GroupedIndices(IReadOnlyList<int> lengths, int batchSize, int worldSize, SeededRandom random) =>
        [.. Megabatches(lengths, batchSize, worldSize, random).SelectMany(m => m).SelectMany(b => b)];

    /// <summary>Megabatches, each already split into world_size chunks.</summary>
    static List<int[][]> Megabatches(IReadOnlyList<int> lengths, int batchSize, int worldSize, SeededRandom random)
    {
        if (batchSize <= 0 || worldSize <= 0) throw new ArgumentException($"batch size and world size must be positive, got {batchSize} and {worldSize}");
        for (var i = 0; i < lengths.Count; i++)
            if (lengths[i] == 0) throw new ArgumentException($"sample {i} has length 0; lengths are positive for image samples and negative for text-only ones");
        var mm = Enumerable.Range(0, lengths.Count).Where(i => lengths[i] > 0).ToArray();
        var lang = Enumerable.Range(0, lengths.Count).Where(i => lengths[i] < 0).ToArray();
        var megabatchSize = batchSize * worldSize;

        var mmMegabatches = LengthGrouped(mm, i => lengths[i], megabatchSize, worldSize, random);
        var langMegabatches = LengthGrouped(lang, i => -lengths[i], megabatchSize, worldSize, random);
        var leftovers = new List<int[][]>();
        TakePartialLast(mmMegabatches, megabatchSize, leftovers);
        TakePartialLast(langMegabatches, megabatchSize, leftovers);

        var full = mmMegabatches.Concat(langMegabatches).ToList();
        var order = random.Permutation(full.Count);
        return [.. order.Select(i => full[i]), .. leftovers];
    }

    static void TakePartialLast(List<int[][]> megabatches, int megabatchSize, List<int[][]> leftovers)
    {
        if (megabatches.Count > 0 && megabatches[^1].Sum(c => c.Length) < megabatchSize)
        {
            leftovers.Add(megabatches[^1]);
            megabatches.RemoveAt(megabatches.Count - 1);
        }
    }

    /// <summary>get_length_grouped_indices: shuffle, cut into megabatches, sort each longest first, split into even chunks.</summary>
    static List<int[][]> LengthGrouped(int[] indices, Func<int, int> length, int megabatchSize, int worldSize, SeededRandom random)
    {
        var shuffled = random.Permutation(indices.Length).Select(i => indices[i]).ToArray();
        var megabatches = new List<int[][]>();
        for (var start = 0; start < shuffled.Length; start += megabatchSize)
        {
            // Stable sort, longest first, as Python's sorted(..., reverse=True) keeps ties in order.
            var megabatch = shuffled.Skip(start).Take(megabatchSize).Select((index, pos) => (index, pos))
                .OrderByDescending(x => length(x.index)).ThenBy(x => x.pos).Select(x => x.index).ToArray();
            megabatches.Add(SplitToEvenChunks(megabatch, length, worldSize));
        }
        return megabatches;
    }

    /// <summary>split_to_even_chunks: greedy by total length when the megabatch divides evenly, else strided.</summary>
    static int[][] SplitToEvenChunks(int[] indices, Func<int, int> length, int chunks)
    {
        if (indices.Length % chunks != 0)
            return [.. Enumerable.Range(0, chunks).Select(c => indices.Where((_, i) => i % chunks == c).ToArray())];
        var perChunk = indices.Length / chunks;
        var result = Enumerable.Range(0, chunks).Select(_ => new List<int>(perChunk)).ToArray();
        var totals = new double[chunks];
        foreach (var index in indices)
        {
            var shortest = Array.IndexOf(totals, totals.Min());
            result[shortest].Add(index);
            totals[shortest] += length(index);
            if (result[shortest].Count == perChunk) totals[shortest] = double.PositiveInfinity;
        }
        return [.. result.Select(r => r.ToArray())];
    }
}
