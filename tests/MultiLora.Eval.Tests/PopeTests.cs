using MultiLora.Eval.Scoring;

namespace MultiLora.Eval.Tests;

public class PopeTests
{
    [Theory]
    [InlineData("Yes, there is a dog.", "yes")]
    [InlineData("Yes, there is", "yes")]
    [InlineData("No.", "no")]
    [InlineData("No, there is not.", "no")]
    [InlineData("There is no dog", "no")]
    [InlineData("The dog is not there", "no")]
    [InlineData("Yes. There is no cat though.", "yes")]   // only the first sentence counts
    [InlineData("NO", "yes")]                             // only "No", "not", "no" as words (LLaVA's rule)
    [InlineData("nothing here", "yes")]                   // "nothing" is not the word "no"
    public void PopeParsing_FirstSentenceNoWordsMeanNo(string reply, string expected) =>
        Assert.Equal(expected, PopeAnswer.Parse(reply));

    [Fact]
    public void PopeMetrics_WorkedOutConfusionMatrix()
    {
        SampleRecord R(string id, string label, string? parsed, bool ok = true) =>
            new("pope", id, ok ? SampleRecord.Ok : SampleRecord.Failed, "", null, parsed, label, null);
        var records = new[] { R("1", "yes", "yes"), R("2", "no", "no"), R("3", "yes", "no"), R("4", "no", "yes"), R("5", "yes", "yes"), R("6", "yes", null, ok: false) };
        var m = new PopeScorer().Aggregate(records);
        // TP 2, TN 1, FN 1 + 1 failed positive, FP 1; n 6.
        Assert.Equal(100.0 * 3 / 6, m["accuracy"], 9);
        Assert.Equal(100.0 * 2 / 3, m["precision"], 9);
        Assert.Equal(100.0 * 2 / 4, m["recall"], 9);
        Assert.Equal(100.0 * 2 * (2.0 / 3) * 0.5 / (2.0 / 3 + 0.5), m["f1"], 9);
        Assert.Equal(100.0 * 3 / 6, m["yes_ratio"], 9);
        Assert.Equal(1, m["failed"]);
        Assert.Equal(6, m["n"]);
    }
}
