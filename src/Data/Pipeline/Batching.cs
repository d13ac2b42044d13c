namespace MultiLora.Data.Pipeline;

public static class Batching
{
    /// <summary>Consecutive batches of <paramref name="batchSize"/> samples; the last may be smaller.</summary>
    public static IEnumerable<Batch> InBatches(this IEnumerable<TrainingSample> samples, int batchSize)
    {
        if (batchSize <= 0) throw new ArgumentException($"batch size must be positive, got {batchSize}");
        return samples.Chunk(batchSize).Select(chunk => new Batch(chunk));
    }
}
