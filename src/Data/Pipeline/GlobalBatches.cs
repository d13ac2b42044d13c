namespace MultiLora.Data.Pipeline;

/// <summary>
/// One global micro-batch: consecutive inputs of one modality from the epoch's order, starting at position
/// <see cref="Start"/> and at most batch_size x world_size long. Rank r trains on inputs [r x batch_size, (r+1) x
/// batch_size) of it (possibly none, in a short batch at a modality switch or an epoch's end).
/// </summary>
public sealed record GlobalMicroBatch(long Start, IReadOnlyList<PipelineInput> Inputs)
{
    /// <summary>The epoch position after this batch: what a checkpoint records as consumed.</summary>
    public long End => Start + Inputs.Count;

    public IReadOnlyList<PipelineInput> Slice(int rank, int perRank)
    {
        int from = Math.Min(Inputs.Count, rank * perRank), to = Math.Min(Inputs.Count, from + perRank);
        return Inputs.Skip(from).Take(to - from).ToList();
    }
}

/// <summary>
/// Cuts an epoch's input order into the micro-batches one process with batch size <c>size</c> would train on:
/// consecutive inputs, never mixing image and text-only records. Data-parallel training cuts the same global order
/// with size = batch_size x world_size and gives each rank its slice, so N ranks see exactly what one process sees.
/// Cutting happens before images are decoded, so each rank decodes only its own share.
/// </summary>
public static class GlobalBatches
{
    public static IEnumerable<GlobalMicroBatch> Plan(IReadOnlyList<PipelineInput> order, long start, int size)
    {
        if (size <= 0) throw new ArgumentOutOfRangeException(nameof(size), size, "batch size must be positive");
        var current = new List<PipelineInput>(size);
        long first = start;
        for (long i = start; i < order.Count; i++)
        {
            var input = order[(int)i];
            if (current.Count > 0 && (current.Count == size || current[0].Conversation.HasImage != input.Conversation.HasImage))
            {
                yield return new GlobalMicroBatch(first, current);
                current = new List<PipelineInput>(size);
                first = i;
            }
            current.Add(input);
        }
        if (current.Count > 0) yield return new GlobalMicroBatch(first, current);
    }
}
