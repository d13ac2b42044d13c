using MultiLora.Data.Errors;
using MultiLora.Data.Model;
using MultiLora.Data.Pipeline;
using MultiLora.Data.Readers;
using MultiLora.Data.Specs;
using MultiLora.Data.Tests.Readers;
using MultiLora.Tests.Common;

namespace MultiLora.Data.Tests.Pipeline;

public class DatasetInspectorTests
{
    [Fact]
    public void Inspect_CountsTokensAndListsEveryBadRecordEvenUnderFail()
    {
        using var dir = Fixture.Temp();
        SampleFiles.WriteImages(dir.Path, 2);
        using (var w = new LlavaJsonWriter(dir.File("d.json"), false))
        {
            w.Write(new Conversation("ok0", [new Turn(Speaker.Human, "<image>\none two"), new Turn(Speaker.Gpt, "three four five")], ImageSource.FromPath("imgs/0.png"), "t"));
            w.Write(new Conversation("lost", [new Turn(Speaker.Human, "<image>\nq"), new Turn(Speaker.Gpt, "a")], ImageSource.FromPath("imgs/9.png"), "t"));
            w.Write(new Conversation("order", [new Turn(Speaker.Gpt, "a"), new Turn(Speaker.Human, "q")], null, "t"));
            w.Write(new Conversation("txt", [new Turn(Speaker.Human, "x"), new Turn(Speaker.Gpt, "y")], null, "t"));
        }
        File.WriteAllText(dir.File("s.yaml"), "name: d\nfiles: [d.json]\non_error: fail\n");

        var report = DatasetInspector.Inspect(SpecLoader.LoadMixture(dir.File("s.yaml")), new WordHashTestEncoder(), maxLength: 5, renderSamples: 1);

        Assert.Equal((2, 1, 1), (report.Samples, report.ImageSamples, report.TextOnlySamples));
        Assert.Equal(1, report.Errors.Count(DataErrorKind.MissingImage));
        Assert.Equal(1, report.Errors.Count(DataErrorKind.BadTurnOrder));
        // ok0: bos + <image> one two + three four five = 7 tokens, 3 labelled; txt: bos x y = 3 tokens, 1 labelled.
        Assert.Equal(new TokenStatistics(3, 7, 7, 7, 10, 4, 1), report.Tokens);
        Assert.Contains("[ok0]", Assert.Single(report.RenderedSamples));
        Assert.Equal(2, report.SamplesPerDataset["d"]);
    }
}
