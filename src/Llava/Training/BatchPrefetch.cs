namespace MultiLora.Llava.Training;

/// <summary>
/// Runs one item ahead of its consumer on a background thread: while the caller trains on batch n, batch n + 1 is
/// drawn from the data pipeline, padded and turned into (pinned) host tensors. The source is advanced by one thread
/// at a time, never concurrently; an exception in it surfaces at the consumer's next item; an item prepared but
/// not consumed (the run stopped) is disposed.
/// </summary>
public static class BatchPrefetch
{
    public static IEnumerable<T> Ahead<T>(IEnumerable<T> source) where T : class, IDisposable
    {
        using var e = source.GetEnumerator();
        Task<T?> Next() => Task.Run(() => e.MoveNext() ? e.Current : null);
        var pending = Next();
        try
        {
            while (true)
            {
                var item = pending.GetAwaiter().GetResult();
                pending = null;
                if (item is null) yield break;
                pending = Next();
                yield return item;
            }
        }
        finally
        {
            // the consumer stopped early (end of the run, an exception): wait for the item in flight and free it
            if (pending is not null)
            {
                try { pending.GetAwaiter().GetResult()?.Dispose(); }
                catch (Exception) { /* the consumer's own exception, if any, is the one that matters */ }
            }
        }
    }
}
