using MultiLora.Data.Model;
using MultiLora.Data.Pipeline;

namespace MultiLora.Data.Tests.Pipeline;

public class GlobalBatchesTests
{
    /// <summary>"I" = an image record, "T" = a text-only one; the origin is the position.</summary>
    static List<PipelineInput> Order(string kinds) => [.. kinds.Select((k, i) => new PipelineInput(
        new Conversation($"r{i}", [new Turn(Speaker.Human, "q"), new Turn(Speaker.Gpt, "a")], k == 'I' ? ImageSource.FromPath("x.png") : null, $"#{i}"), null))];

    static List<string> Cut(string kinds, long start, int size) =>
        [.. GlobalBatches.Plan(Order(kinds), start, size).Select(b => $"{b.Start}:{string.Join(",", b.Inputs.Select(i => i.Conversation.Origin[1..]))}")];

    [Fact]
    public void Batches_AreConsecutive_FullSized_AndNeverMixModalities()
    {
        Assert.Equal(["0:0,1,2,3", "4:4,5", "6:6,7,8", "9:9"], Cut("IIIIIITTTI", 0, 4));
    }

    [Fact]
    public void APlanFromAPosition_ContinuesWhereACheckpointStopped()
    {
        Assert.Equal(["5:5", "6:6,7,8", "9:9"], Cut("IIIIIITTTI", 5, 4));
    }

    [Fact]
    public void EachRank_TakesItsSlice_AndTheSlicesCoverTheBatchInOrder()
    {
        var batch = GlobalBatches.Plan(Order("IIIII"), 0, 4).First();
        var slices = Enumerable.Range(0, 2).Select(r => batch.Slice(r, 2).Select(i => i.Conversation.Origin).ToList()).ToList();
        Assert.Equal(["#0", "#1"], slices[0]);
        Assert.Equal(["#2", "#3"], slices[1]);
        Assert.Equal(4, batch.End);
        // a short batch (the modality switched): rank 1 gets nothing and still takes part in the step
        var shortBatch = GlobalBatches.Plan(Order("IT"), 0, 4).First();
        Assert.Single(shortBatch.Slice(0, 2));
        Assert.Empty(shortBatch.Slice(1, 2));
    }

    [Fact]
    public void OneProcessWithBatchFour_AndTwoRanksWithTwo_SeeTheSameSamplesPerStep()
    {
        var order = Order("IIIIITTTTTTIIT");
        var single = GlobalBatches.Plan(order, 0, 4).Select(b => b.Slice(0, 4)).ToList();
        var ranks = GlobalBatches.Plan(order, 0, 2 * 2).Select(b => b.Slice(0, 2).Concat(b.Slice(1, 2)).ToList()).ToList();
        Assert.Equal(single.Select(b => b.Select(i => i.Conversation.Origin)), ranks.Select(b => b.Select(i => i.Conversation.Origin)));
    }
}
