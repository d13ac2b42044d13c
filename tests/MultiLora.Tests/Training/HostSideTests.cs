using MultiLora.Core.Tensors;
using MultiLora.Llava.Training;
using static TorchSharp.torch;

namespace MultiLora.Tests.Training;

/// <summary>The pieces that keep the host off a step's critical path: deferred metric reads, batches prepared ahead.</summary>
public sealed class HostSideTests
{
    [Fact]
    public void PendingSteps_ReadsEveryStepsLossesAndNormInOneTransfer()
    {
        using var scope = NewDisposeScope();
        using var pending = new PendingSteps();
        float[] micro = [2.5f, 3.25f, 1.125f, 7.75f, float.NaN, 0.5f];
        for (int step = 0; step < 3; step++)
        {
            pending.AddMicroLoss(tensor(micro[2 * step]), [$"s{step}a"]);
            pending.AddMicroLoss(tensor(micro[2 * step + 1]), [$"s{step}b"]);
            pending.CloseStep(step == 1 ? null : tensor(10f + step), payload: step);
        }
        long readsBefore = HostRead.ThreadCount;
        var reads = pending.ReadAll();
        Assert.Equal(readsBefore + 1, HostRead.ThreadCount);
        Assert.Equal(0, pending.Count);
        Assert.Equal([0, 1, 2], reads.Select(r => (int)r.Payload!));
        Assert.Equal((2.5 + 3.25) / 2, reads[0].Loss);
        Assert.Equal(10.0, reads[0].GradNorm);
        Assert.True(double.IsNaN(reads[1].GradNorm));                       // no norm recorded for that step
        Assert.True(double.IsNaN(reads[2].Loss));                            // a NaN micro-batch loss shows in its step
        Assert.Equal("s2a", reads[2].MicroBatches.First(m => double.IsNaN(m.Loss)).Origins[0]);
        Assert.Empty(pending.ReadAll());
    }

    sealed class Item(int value, List<int> disposed) : IDisposable
    {
        public int Value => value;
        public void Dispose() => disposed.Add(value);
    }

    [Fact]
    public void Prefetch_PreparesTheNextItemWhileTheCurrentOneIsUsed_InOrder()
    {
        var disposed = new List<int>();
        var started = new List<int>();
        IEnumerable<Item> Source()
        {
            for (int i = 0; i < 4; i++) { lock (started) started.Add(i); yield return new Item(i, disposed); }
        }
        var seen = new List<int>();
        foreach (var item in BatchPrefetch.Ahead(Source()))
        {
            using (item)
            {
                // by the time item n is in the consumer's hands, item n + 1 is being (or has been) prepared
                SpinWait.SpinUntil(() => { lock (started) return started.Count >= Math.Min(4, item.Value + 2); }, TimeSpan.FromSeconds(10));
                lock (started) Assert.True(started.Count >= Math.Min(4, item.Value + 2), $"item {item.Value + 1} was not started ahead");
                seen.Add(item.Value);
            }
        }
        Assert.Equal([0, 1, 2, 3], seen);
    }

    [Fact]
    public void Prefetch_StoppingEarlyDisposesTheItemInFlight_AndSourceErrorsSurface()
    {
        var disposed = new List<int>();
        IEnumerable<Item> Source() { for (int i = 0; ; i++) yield return new Item(i, disposed); }
        foreach (var item in BatchPrefetch.Ahead(Source())) { item.Dispose(); if (item.Value == 1) break; }
        Assert.Equal([0, 1, 2], disposed.Order());   // 2 was prepared ahead, never consumed

        IEnumerable<Item> Failing() { yield return new Item(0, disposed); throw new InvalidDataException("record 7 is broken"); }
        var e = Assert.Throws<InvalidDataException>(() => { foreach (var item in BatchPrefetch.Ahead(Failing())) item.Dispose(); });
        Assert.Contains("record 7", e.Message);
    }
}
