using MultiLora.Data.Model;
using MultiLora.Data.Mixing;

namespace MultiLora.Data.Tests.Mixing;

public class ModalityLengthGroupingTests
{
    static int[] Lengths(int count, int seed)
    {
        var random = new SeededRandom(seed, "lengths");
        // Roughly a third text-only (negative lengths), as LLaVA's modality_lengths encodes them.
        return [.. Enumerable.Range(0, count).Select(_ => random.Next(3) == 0 ? -random.Next(5, 300) : random.Next(5, 300))];
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void Batches_NeverMixModalities_AndCoverEverySampleOnce(int worldSize)
    {
        var lengths = Lengths(1003, 5);
        var batches = ModalityLengthGrouping.Batches(lengths, batchSize: 8, worldSize, new SeededRandom(1, "epoch", 0));

        Assert.All(batches, b => Assert.True(b.All(i => lengths[i] > 0) || b.All(i => lengths[i] < 0)));
        Assert.Equal(Enumerable.Range(0, lengths.Length), batches.SelectMany(b => b).Order());
        Assert.All(batches, b => Assert.InRange(b.Length, 1, 8));
    }

    [Fact]
    public void Megabatches_AreSortedLongestFirst()
    {
        var lengths = Lengths(400, 2);
        var order = ModalityLengthGrouping.GroupedIndices(lengths, batchSize: 10, worldSize: 1, new SeededRandom(3));
        // With world size 1 every full megabatch is one batch of 10, sorted by |length| descending.
        var batches = ModalityLengthGrouping.Batches(lengths, 10, 1, new SeededRandom(3));
        Assert.Equal(order, batches.SelectMany(b => b));
        foreach (var batch in batches)
            Assert.Equal(batch.Select(i => Math.Abs(lengths[i])).OrderDescending(), batch.Select(i => Math.Abs(lengths[i])));
    }

    [Fact]
    public void SplitAcrossRanks_BalancesTotalLength()
    {
        var lengths = Enumerable.Range(1, 64).ToArray(); // all image samples
        var batches = ModalityLengthGrouping.Batches(lengths, batchSize: 4, worldSize: 4, new SeededRandom(9));
        // Each megabatch of 16 splits into 4 chunks of 4 whose sums are close (greedy shortest-chunk assignment).
        foreach (var megabatch in batches.Chunk(4))
        {
            var sums = megabatch.Select(b => b.Sum(i => lengths[i])).ToArray();
            Assert.True(sums.Max() - sums.Min() <= megabatch.SelectMany(b => b).Max(i => lengths[i]), string.Join(",", sums));
        }
    }

    [Fact]
    public void Order_IsReproducibleBySeed_AndDiffersByEpoch()
    {
        var lengths = Lengths(200, 1);
        var a = ModalityLengthGrouping.GroupedIndices(lengths, 4, 2, new SeededRandom(5, "epoch", 0));
        var b = ModalityLengthGrouping.GroupedIndices(lengths, 4, 2, new SeededRandom(5, "epoch", 0));
        var c = ModalityLengthGrouping.GroupedIndices(lengths, 4, 2, new SeededRandom(5, "epoch", 1));
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void ModalityLength_CountsWordsAndSignsByImage()
    {
        var turns = new[] { new Turn(Speaker.Human, "<image>\nwhat is  this"), new Turn(Speaker.Gpt, "a red circle") };
        Assert.Equal(7, ModalityLengthGrouping.ModalityLength(new Conversation("a", turns, ImageSource.FromPath("x.png"), "o")));
        Assert.Equal(-7, ModalityLengthGrouping.ModalityLength(new Conversation("a", turns, null, "o")));
    }

    [Fact]
    public void ZeroLength_Refused()
    {
        Assert.Throws<ArgumentException>(() => ModalityLengthGrouping.Batches([3, 0, -2], 2, 1, new SeededRandom(1)));
    }
}
