using MultiLora.Data.Errors;
using MultiLora.Data.Model;
using MultiLora.Data.Pipeline;
using MultiLora.Data.Readers;
using MultiLora.Data.Specs;
using MultiLora.Tests.Common;

namespace MultiLora.Data.Tests.Readers;

public class LlavaJsonReaderTests
{
    [Fact]
    public void Read_LlavaArrayWithImageFolder_GivesRecordsAndLoadableImages()
    {
        using var dir = Fixture.Temp();
        var expected = SampleFiles.Conversations(3);
        SampleFiles.WriteImages(dir.Path, 3);
        var file = SampleFiles.WriteJson(dir.File("data.json"), expected, lines: false);

        var read = new LlavaJsonReader().Read(file, ColumnMapping.Default, DataErrorPolicy.Fail()).ToList();

        Assert.Equal(3, read.Count);
        for (var i = 0; i < 3; i++)
        {
            ConversationAssert.SameContent(expected[i], read[i]);
            Assert.Equal($"{file}#{i}", read[i].Origin);
            var image = ImageLoader.Load(read[i].Image!, dir.Path, read[i].Origin);
            Assert.Equal(4, image.Width);
        }
    }

    [Fact]
    public void Read_RecordsLongerThanTheBuffer_StreamWithRefillsAndGrowth()
    {
        using var dir = Fixture.Temp();
        // Records of ~3 KB through a 64-byte buffer: every record crosses refills and forces the buffer to grow.
        var expected = Enumerable.Range(0, 20).Select(i => new Conversation($"r{i}",
            [new Turn(Speaker.Human, new string('q', 100 * i + 1)), new Turn(Speaker.Gpt, "a")], i % 3 == 0 ? null : ImageSource.FromPath($"{i}.jpg"), "t")).ToArray();
        var file = SampleFiles.WriteJson(dir.File("big.json"), expected, lines: false);

        var read = new LlavaJsonReader(bufferSize: 64).Read(file, ColumnMapping.Default, DataErrorPolicy.Fail()).ToList();

        Assert.Equal(expected.Length, read.Count);
        for (var i = 0; i < expected.Length; i++) ConversationAssert.SameContent(expected[i], read[i]);
    }

    [Fact]
    public void Read_TextOnlyRecordWithoutImageKey_HasNoImage()
    {
        using var dir = Fixture.Temp();
        File.WriteAllText(dir.File("t.json"), """[{"id": 7, "conversations": [{"from": "user", "value": "hi"}, {"from": "assistant", "value": "yo"}]}]""");

        var c = Assert.Single(new LlavaJsonReader().Read(dir.File("t.json"), ColumnMapping.Default, DataErrorPolicy.Fail()));

        Assert.Equal("7", c.Id);
        Assert.False(c.HasImage);
        Assert.Equal([new Turn(Speaker.Human, "hi"), new Turn(Speaker.Gpt, "yo")], c.Turns);
    }

    [Fact]
    public void Read_EmptyArray_YieldsNothing()
    {
        using var dir = Fixture.Temp();
        File.WriteAllText(dir.File("e.json"), " [ ] \n");
        Assert.Empty(new LlavaJsonReader().Read(dir.File("e.json"), ColumnMapping.Default, DataErrorPolicy.Fail()));
    }

    [Fact]
    public void Read_TruncatedFile_NamesFileAndRecord()
    {
        using var dir = Fixture.Temp();
        File.WriteAllText(dir.File("cut.json"), """[{"id": "a", "conversations": []}, {"id": "b", "conver""");

        var e = Assert.Throws<InvalidDataException>(() => new LlavaJsonReader().Read(dir.File("cut.json"), ColumnMapping.Default, DataErrorPolicy.Fail()).ToList());

        Assert.Contains("cut.json#1", e.Message);
    }

    [Fact]
    public void Read_NotAnArray_SaysSo()
    {
        using var dir = Fixture.Temp();
        File.WriteAllText(dir.File("obj.json"), """{"id": "a"}""");
        var e = Assert.Throws<InvalidDataException>(() => new LlavaJsonReader().Read(dir.File("obj.json"), ColumnMapping.Default, DataErrorPolicy.Fail()).ToList());
        Assert.Contains("expected a JSON array", e.Message);
    }

    [Fact]
    public void Read_UnknownSpeaker_FailsNamingRecordOrIsCountedUnderSkip()
    {
        using var dir = Fixture.Temp();
        File.WriteAllText(dir.File("s.json"), """[{"id":"a","conversations":[{"from":"robot","value":"x"}]},{"id":"b","conversations":[{"from":"human","value":"q"},{"from":"gpt","value":"a"}]}]""");

        var e = Assert.Throws<InvalidDataException>(() => new LlavaJsonReader().Read(dir.File("s.json"), ColumnMapping.Default, DataErrorPolicy.Fail()).ToList());
        Assert.Contains("s.json#0", e.Message);
        Assert.Contains("robot", e.Message);

        var skip = DataErrorPolicy.Skip();
        var read = new LlavaJsonReader().Read(dir.File("s.json"), ColumnMapping.Default, skip).ToList();
        Assert.Equal("b", Assert.Single(read).Id);
        Assert.Equal(1, skip.Report.Count(DataErrorKind.MalformedRecord));
    }
}
