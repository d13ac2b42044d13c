using MultiLora.Eval.Samples;
using MultiLora.Eval.Scoring;

namespace MultiLora.Eval.Tests;

public class CircularEvaluationTests
{
    static SampleRecord R(string id, string group, double score, string cat) =>
        new("mmbench", id, SampleRecord.Ok, "", "", "", "", score, Group: group, Category: cat);

    [Fact]
    public void CircularEvaluation_QuestionCountsOnlyWhenAllRotationsAreRight()
    {
        var records = new[]
        {
            R("0", "0", 1, "x"), R("1000000", "0", 1, "x"), R("2000000", "0", 1, "x"),   // all right
            R("1", "1", 1, "x"), R("1000001", "1", 0, "y"),                              // one wrong
            R("2", "2", 1, "y"),
        };
        var m = new ChoiceScorer("option_letter").Aggregate(records);
        Assert.Equal(100.0 * 2 / 3, m["accuracy"], 9);
        Assert.Equal(50.0, m["category_accuracy/x"], 9);   // groups 0 (right) and 1 (wrong): category of the first rotation
        Assert.Equal(100.0, m["category_accuracy/y"], 9);
        Assert.Equal(6, m["n"]);
    }

    [Fact]
    public void CircularEvaluation_PlainFileGetsRotationsLikeLlava()
    {
        using var dir = MultiLora.Tests.Common.Fixture.Temp();
        TestFiles.WriteMmbench(dir.Path);
        var samples = MmbenchTsvReader.Read(Path.Combine(dir.Path, "mmbench", "mmbench_dev_20230712.tsv"), "", circular: true);
        Assert.Equal(["0", "1000000", "2000000", "1", "1000001"], samples.Select(s => s.Id));
        var r1 = samples[1];   // round 1 of Q0: options shifted left by one
        Assert.Equal(["dog", "bird", "cat"], r1.Choices.Select(o => o.Text));
        Assert.Equal("C", r1.Answer);
        Assert.Equal("0", r1.GroupKey);
        Assert.Equal("Look up.", samples[3].Hint);
        Assert.Equal("What colour is the \"sky\"?", samples[3].Question);
        Assert.NotNull(samples[0].Image?.Bytes);
    }

    [Fact]
    public void CircularEvaluation_CircularFileGroupsByIndexModuloMillion()
    {
        using var dir = MultiLora.Tests.Common.Fixture.Temp();
        var img = Convert.ToBase64String(TestFiles.Bmp());
        File.WriteAllText(dir.File("c.tsv"),
            "index\tquestion\tA\tB\tanswer\tcategory\timage\n" +
            $"5\tq\tx\ty\tA\tc\t{img}\n" +
            "1000005\tq\ty\tx\tB\tc\t5\n");   // a short numeric image field refers to row 5's image
        var samples = MmbenchTsvReader.Read(dir.File("c.tsv"), "", circular: true);
        Assert.Equal(2, samples.Count);        // rows are the rotations: none generated
        Assert.All(samples, s => Assert.Equal("5", s.GroupKey));
        Assert.Equal(samples[0].Image!.Bytes, samples[1].Image!.Bytes);
    }
}
