using MultiLora.Data.Errors;
using MultiLora.Data.Images;
using MultiLora.Data.Model;
using MultiLora.Data.Pipeline;
using MultiLora.Data.Tests.Readers;
using MultiLora.Tests.Common;

namespace MultiLora.Data.Tests.Pipeline;

public class SamplePipelineTests
{
    /// <summary>Test preprocessing: the image's bytes as floats, so the test can see which image arrived.</summary>
    static PixelTensor Flatten(RgbImage image) => new(image.Height, image.Width, [.. image.Pixels.Select(p => (float)p)]);

    static Conversation Good(int i, string? image = null) => new($"g{i}",
        [new Turn(Speaker.Human, image is null ? $"question {i}" : $"<image>\nquestion {i}"), new Turn(Speaker.Gpt, $"answer {i}")], image is null ? null : ImageSource.FromPath(image), $"d.json#{i}");

    public static TheoryData<string, DataErrorKind> BadRecords => new()
    {
        { "missing-image", DataErrorKind.MissingImage },
        { "undecodable-image", DataErrorKind.UndecodableImage },
        { "no-conversations", DataErrorKind.NoConversations },
        { "bad-turn-order", DataErrorKind.BadTurnOrder },
        { "too-long", DataErrorKind.TooLong },
        { "encoder-rejects", DataErrorKind.EncoderRejected },
        { "placeholder-without-image", DataErrorKind.PlaceholderMismatch },
    };

    static Conversation Bad(string kind, string dir) => kind switch
    {
        "missing-image" => Good(1, "nope.png"),
        "undecodable-image" => Good(1) with { Image = ImageSource.FromBytes([1, 2, 3, 4, 5]) },
        "no-conversations" => Good(1) with { Turns = [] },
        "bad-turn-order" => Good(1) with { Turns = [new Turn(Speaker.Gpt, "a"), new Turn(Speaker.Human, "q")] },
        "too-long" => Good(1) with { Turns = [new Turn(Speaker.Human, string.Join(' ', Enumerable.Repeat("w", 50))), new Turn(Speaker.Gpt, "a")] },
        "encoder-rejects" => Good(1) with { Turns = [new Turn(Speaker.Human, "ENCODER-FAIL"), new Turn(Speaker.Gpt, "a")] },
        _ => Good(1) with { Turns = [new Turn(Speaker.Human, "<image>\nq"), new Turn(Speaker.Gpt, "a")] },
    };

    [Theory]
    [MemberData(nameof(BadRecords))]
    public void BadRecord_UnderFail_StopsNamingRecordAndReason(string kind, DataErrorKind expected)
    {
        using var dir = Fixture.Temp();
        var pipeline = new SamplePipeline(new WordHashTestEncoder(), Flatten, new PipelineOptions { MaxLength = 20, Workers = 2 });
        var inputs = new[] { new PipelineInput(Good(0), dir.Path), new PipelineInput(Bad(kind, dir.Path), dir.Path, OnError.Fail) };

        var e = Assert.Throws<InvalidDataException>(() => pipeline.Run(inputs).ToList());

        Assert.Contains("d.json#1", e.Message);
        Assert.Equal(expected, Assert.IsType<DataRecordException>(e.InnerException).Kind);
    }

    [Theory]
    [MemberData(nameof(BadRecords))]
    public void BadRecord_UnderSkip_IsDroppedAndCounted(string kind, DataErrorKind expected)
    {
        using var dir = Fixture.Temp();
        var pipeline = new SamplePipeline(new WordHashTestEncoder(), Flatten, new PipelineOptions { MaxLength = 20, Workers = 2 });
        var inputs = new[] { new PipelineInput(Good(0), dir.Path), new PipelineInput(Bad(kind, dir.Path), dir.Path, OnError.Skip), new PipelineInput(Good(2), dir.Path) };

        var samples = pipeline.Run(inputs).ToList();

        Assert.Equal(["d.json#0", "d.json#2"], samples.Select(s => s.Origin));
        Assert.Equal(1, pipeline.Errors.Count(expected));
        Assert.Equal(1, pipeline.Errors.Total);
        Assert.Contains("d.json#1", Assert.Single(pipeline.Errors.Examples));
    }

    [Fact]
    public void RunAligned_GivesOneResultPerInput_NullWhereARecordWasSkipped()
    {
        using var dir = Fixture.Temp();
        var pipeline = new SamplePipeline(new WordHashTestEncoder(), Flatten, new PipelineOptions { MaxLength = 20, Workers = 2 });
        var inputs = new[] { new PipelineInput(Good(0), dir.Path), new PipelineInput(Bad("missing-image", dir.Path), dir.Path, OnError.Skip), new PipelineInput(Good(2), dir.Path) };

        var results = pipeline.RunAligned(inputs).ToList();

        Assert.Equal(["d.json#0", null, "d.json#2"], results.Select(s => s?.Origin));
    }

    [Fact]
    public void ManyWorkers_KeepInputOrder_AndDeliverTheRightImage()
    {
        using var dir = Fixture.Temp();
        SampleFiles.WriteImages(dir.Path, 5);
        var inputs = Enumerable.Range(0, 300).Select(i => new PipelineInput(
            i % 3 == 0 ? Good(i) : Good(i, $"imgs/{i % 5}.png"), dir.Path)).ToList();
        var pipeline = new SamplePipeline(new WordHashTestEncoder(), Flatten, new PipelineOptions { Workers = 4, Prefetch = 8 });

        var samples = pipeline.Run(inputs).ToList();

        Assert.Equal(inputs.Select(i => i.Conversation.Origin), samples.Select(s => s.Origin));
        for (var i = 0; i < samples.Count; i++)
        {
            if (i % 3 == 0) { Assert.Null(samples[i].Pixels); continue; }
            var expected = ImageDecoder.Decode(SampleFiles.Png(i % 5), "x").Pixels.Select(p => (float)p);
            Assert.Equal(expected, samples[i].Pixels!.Values);
        }
    }

    [Fact]
    public void StoppingEarly_EndsTheWorkersWithoutReadingTheRest()
    {
        var produced = 0;
        IEnumerable<PipelineInput> Endless()
        {
            for (var i = 0; ; i++) { produced++; yield return new PipelineInput(Good(i), null); }
        }
        var pipeline = new SamplePipeline(new WordHashTestEncoder(), Flatten, new PipelineOptions { Workers = 3, Prefetch = 4 });

        var first = pipeline.Run(Endless()).Take(10).Select(s => s.Origin).ToList();

        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"d.json#{i}"), first);
        Assert.InRange(produced, 10, 10 + 2 * 4 + 2); // bounded prefetch: the source is not drained
    }

    [Fact]
    public void ReaderError_SurfacesAfterTheSamplesBeforeIt()
    {
        static IEnumerable<PipelineInput> Source()
        {
            yield return new PipelineInput(Good(0), null);
            throw new InvalidDataException("data.json#1: broken");
        }
        var pipeline = new SamplePipeline(new WordHashTestEncoder(), Flatten);
        var seen = new List<string>();

        var e = Assert.Throws<InvalidDataException>(() => { foreach (var s in pipeline.Run(Source())) seen.Add(s.Origin); });

        Assert.Equal(["d.json#0"], seen);
        Assert.Contains("data.json#1", e.Message);
    }

    [Fact]
    public void Pad_RightPadsIdsLabelsAndMask()
    {
        var a = new TrainingSample(new EncodedSample([1, 5, 6], [-100, 5, 6], 0), null, "a");
        var b = new TrainingSample(new EncodedSample([1, 7], [-100, 7], 0), null, "b");

        var padded = new Batch([a, b]).Pad(padId: 0);

        Assert.Equal(3, padded.SequenceLength);
        Assert.Equal([1, 5, 6, 1, 7, 0], padded.InputIds);
        Assert.Equal([-100, 5, 6, -100, 7, -100], padded.Labels);
        Assert.Equal([1, 1, 1, 1, 1, 0], padded.AttentionMask);
    }

    [Fact]
    public void Validator_AcceptsLeadingSystemTurn()
    {
        ConversationValidator.Validate(Good(0) with { Turns = [new Turn(Speaker.System, "s"), new Turn(Speaker.Human, "q"), new Turn(Speaker.Gpt, "a")] });
        Assert.Throws<DataRecordException>(() => ConversationValidator.Validate(Good(0) with { Turns = [new Turn(Speaker.Human, "q"), new Turn(Speaker.Gpt, "a"), new Turn(Speaker.Human, "q2")] }));
    }
}
