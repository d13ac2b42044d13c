using MultiLora.Data.Images;
using MultiLora.Data.Tests.Support;
using MultiLora.Tests.Common;

namespace MultiLora.Data.Tests.Images;

public class ImagePreprocessorTests
{
    static RgbImage FixtureImage() => ImageDecoder.DecodeFile(Fixture.Path("image.png"));

    static float MaxAbsDiff(string expectedName, PixelTensor actual)
    {
        var expected = Expected.Tensors.F32(expectedName);
        var shape = Expected.Tensors.Shape(expectedName);
        Assert.Equal([1L, 3L, actual.Height, actual.Width], shape);
        return expected.Zip(actual.Values, (e, a) => Math.Abs(e - a)).Max();
    }

    [Theory]
    [InlineData("pixel_values", null, AspectMode.Crop)]
    [InlineData("pixel_values_pad", null, AspectMode.Pad)]
    [InlineData("pixel_values_56", 56, AspectMode.Crop)]
    public void Process_TorchvisionBackend_MatchesFixturePixelValuesTo1e6(string expectedName, int? resolution, AspectMode aspect)
    {
        var pre = ImagePreprocessor.Load(Expected.ModelDir, new ImagePreprocessOptions(resolution, aspect, PatchSize: 7));
        var diff = MaxAbsDiff(expectedName, pre.Process(FixtureImage()));
        Assert.True(diff <= 1e-6f, $"{expectedName}: max abs diff {diff}");
    }

    /// <summary>The PIL backend (slow processor) differs from the fixture only by 8-bit rounding: at most one level.</summary>
    [Theory]
    [InlineData("pixel_values", null, AspectMode.Crop)]
    [InlineData("pixel_values_pad", null, AspectMode.Pad)]
    [InlineData("pixel_values_56", 56, AspectMode.Crop)]
    public void Process_PilBackend_IsWithinOneLevelOfFixture(string expectedName, int? resolution, AspectMode aspect)
    {
        var pre = ImagePreprocessor.Load(Expected.ModelDir, new ImagePreprocessOptions(resolution, aspect, Backend: ResizeBackend.Pil));
        var diff = MaxAbsDiff(expectedName, pre.Process(FixtureImage()));
        var oneLevel = 1f / 255 / pre.Config.ImageStd.Min();
        Assert.True(diff <= oneLevel + 1e-5f, $"{expectedName}: max abs diff {diff}");
    }

    [Fact]
    public void Resolution_NotAMultipleOfThePatchSize_IsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => ImagePreprocessor.Load(Expected.ModelDir, new ImagePreprocessOptions(30, PatchSize: 7)));
        Assert.Contains("30", e.Message);
    }

    [Fact]
    public void PadMode_PastesTheImageCentredOnTheMeanColour()
    {
        var img = new RgbImage(4, 2, Enumerable.Repeat((byte)200, 24).ToArray());
        var square = ImagePreprocessor.ExpandToSquare(img, [122, 116, 104]);
        Assert.Equal((4, 4), (square.Width, square.Height));
        Assert.Equal(122, square[0, 0, 0]);
        Assert.Equal(200, square[0, 1, 0]);
        Assert.Equal(200, square[3, 2, 2]);
        Assert.Equal(104, square[3, 3, 2]);
    }

    [Fact]
    public void CorruptImage_ErrorNamesItsOrigin()
    {
        var e = Assert.Throws<InvalidDataException>(() => ImageDecoder.Decode([0x89, 0x50, 0x4E, 0x47, 1, 2, 3], "train.parquet#12"));
        Assert.Contains("train.parquet#12", e.Message);
    }

    [Fact]
    public void ConfigMissingKey_ErrorNamesFileAndKey()
    {
        using var dir = Fixture.Temp();
        File.WriteAllText(dir.File("preprocessor_config.json"), """{"size": {"shortest_edge": 28}, "crop_size": {"height": 28, "width": 28}, "image_std": [1, 1, 1]}""");
        var e = Assert.Throws<InvalidDataException>(() => ClipImageProcessorConfig.Load(dir.Path));
        Assert.Contains("preprocessor_config.json", e.Message);
        Assert.Contains("image_mean", e.Message);
    }

    [Fact]
    public void ConfigMissingFile_ErrorNamesThePath()
    {
        using var dir = Fixture.Temp();
        var e = Assert.Throws<FileNotFoundException>(() => ClipImageProcessorConfig.Load(dir.Path));
        Assert.Contains(Path.Combine(dir.Path, "preprocessor_config.json"), e.Message);
    }

    [Fact]
    public void Config_ReadsTheFixtureProcessor()
    {
        var c = ClipImageProcessorConfig.Load(Expected.ModelDir);
        Assert.Equal((28, 28, 28, ResampleFilter.Bicubic), (c.ShortestEdge!.Value, c.CropHeight, c.CropWidth, c.Resample));
        Assert.Equal(0.48145466f, c.ImageMean[0]);
    }

    /// <summary>An odd crop margin of 3: torchvision starts at round(1.5) = 2 (half to even), HF numpy at 3 // 2 = 1.</summary>
    [Theory]
    [InlineData(ResizeBackend.Torchvision, 20f)]
    [InlineData(ResizeBackend.Pil, 10f)]
    public void CenterCrop_OddMargin_FollowsTheBackend(ResizeBackend backend, float firstColumn)
    {
        var config = ClipImageProcessorConfig.Parse(System.Text.Json.Nodes.JsonNode.Parse(
            """{"do_resize": false, "do_rescale": false, "do_normalize": false, "crop_size": {"height": 1, "width": 2}}""")!.AsObject(), "test");
        var row = Enumerable.Range(0, 5).SelectMany(x => new[] { (byte)(x * 10), (byte)0, (byte)0 }).ToArray();
        var pixels = new ImagePreprocessor(config, new ImagePreprocessOptions(Backend: backend)).Process(new RgbImage(5, 1, row));
        Assert.Equal(firstColumn, pixels.Values[0]);
    }

    [Fact]
    public void CenterCrop_LargerThanTheImage_PadsWithZeros()
    {
        var config = ClipImageProcessorConfig.Parse(System.Text.Json.Nodes.JsonNode.Parse(
            """{"do_resize": false, "do_rescale": false, "do_normalize": false, "crop_size": {"height": 1, "width": 4}}""")!.AsObject(), "test");
        var pixels = new ImagePreprocessor(config).Process(new RgbImage(2, 1, [7, 7, 7, 9, 9, 9]));
        Assert.Equal([0f, 7f, 9f, 0f], pixels.Values[..4]);
    }
}
