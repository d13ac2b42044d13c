using System.Text.Json;
using MultiLora.Data.Errors;
using MultiLora.Data.Images;
using MultiLora.Data.Pipeline;
using MultiLora.Data.Readers;
using MultiLora.Data.Specs;
using MultiLora.Data.Synthetic;
using MultiLora.Tests.Common;

namespace MultiLora.Data.Tests.Synthetic;

public class SyntheticDatasetTests
{
    static readonly SynthOptions Small = new() { Resolution = 32, Train = 40, Eval = 24, Seed = 5 };

    static Dictionary<string, byte[]> Files(string root) => Directory.GetFiles(root, "*", SearchOption.AllDirectories)
        .ToDictionary(f => Path.GetRelativePath(root, f), File.ReadAllBytes);

    [Fact]
    public void SameSeed_ByteIdenticalFiles_OtherSeed_DifferentFiles()
    {
        using var a = Fixture.Temp();
        using var b = Fixture.Temp();
        using var c = Fixture.Temp();
        SyntheticDatasetGenerator.Generate(a.Path, Small);
        SyntheticDatasetGenerator.Generate(b.Path, Small);
        SyntheticDatasetGenerator.Generate(c.Path, Small with { Seed = 6 });

        var fa = Files(a.Path);
        var fb = Files(b.Path);
        Assert.Equal(fa.Keys.Order(), fb.Keys.Order());
        foreach (var (name, bytes) in fa) Assert.True(bytes.AsSpan().SequenceEqual(fb[name]), name);
        Assert.False(fa[SynthOutput.Stage2].AsSpan().SequenceEqual(Files(c.Path)[SynthOutput.Stage2]));
    }

    [Fact]
    public void Specs_LoadAndReadWithoutErrors_AndImagesDecodeAtTheResolution()
    {
        using var dir = Fixture.Temp();
        SyntheticDatasetGenerator.Generate(dir.Path, Small);

        foreach (var spec in new[] { SynthOutput.Stage1Spec, SynthOutput.Stage2Spec, SynthOutput.PopeSpec, SynthOutput.MmBenchSpec })
        {
            var report = DatasetInspector.Inspect(SpecLoader.LoadMixture(Path.Combine(dir.Path, spec)), decodeImages: true);
            Assert.True(report.Errors.Total == 0, $"{spec}: {report.Errors}");
            Assert.True(report.Samples > 0, spec);
        }
        var image = ImageDecoder.DecodeFile(Path.Combine(dir.Path, SynthOutput.TrainImages, SynthOutput.ImageName(0)));
        Assert.Equal((32, 32), (image.Width, image.Height));
        var stage2 = SpecLoader.LoadMixture(Path.Combine(dir.Path, SynthOutput.Stage2Spec));
        Assert.Equal(0.2, stage2.TextMix);
        Assert.Contains(stage2.Datasets, d => d.Kind == DatasetKind.Text);
    }

    [Fact]
    public void Pope_IsBalancedYesNo_AndMmBenchHasFourOptionsWithTheAnswerAmongThem()
    {
        using var dir = Fixture.Temp();
        SyntheticDatasetGenerator.Generate(dir.Path, Small);

        var labels = File.ReadAllLines(Path.Combine(dir.Path, SynthOutput.PopeQuestions))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("label").GetString()).ToList();
        Assert.Equal(Small.Eval / 2, labels.Count(l => l == "yes"));
        Assert.Equal(Small.Eval / 2, labels.Count(l => l == "no"));

        var rows = File.ReadAllLines(Path.Combine(dir.Path, SynthOutput.MmBench));
        Assert.Equal("index\tquestion\thint\tA\tB\tC\tD\tanswer\tcategory\timage", rows[0]);
        foreach (var row in rows.Skip(1))
        {
            var f = row.Split('\t');
            Assert.Equal(4, f[3..7].Distinct().Count());
            Assert.Contains(f[7], new[] { "A", "B", "C", "D" });
            var answerWord = f[3 + (f[7][0] - 'A')];
            Assert.Contains(answerWord, f[1] + " " + string.Join(' ', f[3..7]));
            ImageDecoder.Decode(Convert.FromBase64String(f[9]), "mmbench");
        }
    }

    [Fact]
    public void Answers_MatchTheRenderedPixels()
    {
        // The colour named in each one-shape caption is the colour that dominates the non-background pixels.
        using var dir = Fixture.Temp();
        SyntheticDatasetGenerator.Generate(dir.Path, Small);
        var captions = ConversationReaders.ReadFile(Path.Combine(dir.Path, SynthOutput.Stage1), DataErrorPolicy.Fail()).ToList();
        var checkedAny = false;
        foreach (var c in captions.Where(c => !c.Turns[1].Value.Contains(" and ")))
        {
            var colour = SceneVocabulary.Colours.Single(col => c.Turns[1].Value.Contains(SceneVocabulary.Word(col)));
            var rgb = SceneVocabulary.Rgb(colour);
            var image = ImageDecoder.DecodeFile(Path.Combine(dir.Path, c.Image!.Path!));
            var matching = Enumerable.Range(0, image.Width * image.Height).Count(p =>
                image.Pixels[p * 3] == rgb.R && image.Pixels[p * 3 + 1] == rgb.G && image.Pixels[p * 3 + 2] == rgb.B);
            Assert.True(matching > image.Width * image.Height / 10, $"{c.Id}: {matching} pixels of {colour}");
            checkedAny = true;
        }
        Assert.True(checkedAny);
    }
}
