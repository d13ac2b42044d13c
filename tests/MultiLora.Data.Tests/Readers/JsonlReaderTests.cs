using MultiLora.Data.Errors;
using MultiLora.Data.Model;
using MultiLora.Data.Readers;
using MultiLora.Data.Specs;
using MultiLora.Tests.Common;

namespace MultiLora.Data.Tests.Readers;

public class JsonlReaderTests
{
    [Fact]
    public void Read_ShareGptStyleLines_MapUserAssistantSystem()
    {
        using var dir = Fixture.Temp();
        File.WriteAllText(dir.File("sg.jsonl"), """
            {"id": "x", "conversations": [{"from": "system", "value": "Be brief."}, {"from": "user", "value": "2+2?"}, {"from": "assistant", "value": "4"}]}

            {"id": "y", "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]}
            """);

        var read = new JsonlReader().Read(dir.File("sg.jsonl"), ColumnMapping.Default, DataErrorPolicy.Fail()).ToList();

        Assert.Equal(2, read.Count);
        Assert.Equal([Speaker.System, Speaker.Human, Speaker.Gpt], read[0].Turns.Select(t => t.From));
        Assert.Equal($"{dir.File("sg.jsonl")}#2", read[1].Origin); // blank line counted: the index is the line
        Assert.All(read, c => Assert.False(c.HasImage));
    }

    [Fact]
    public void Read_BrokenLine_FailsWithFileAndLineOrSkipsAndCounts()
    {
        using var dir = Fixture.Temp();
        File.WriteAllText(dir.File("b.jsonl"), "{\"id\":\"a\",\"conversations\":[]}\n{not json\n{\"id\":\"c\"}\n");

        var e = Assert.Throws<InvalidDataException>(() => new JsonlReader().Read(dir.File("b.jsonl"), ColumnMapping.Default, DataErrorPolicy.Fail()).ToList());
        Assert.Contains("b.jsonl#1", e.Message);

        var skip = DataErrorPolicy.Skip();
        Assert.Equal(["a", "c"], new JsonlReader().Read(dir.File("b.jsonl"), ColumnMapping.Default, skip).Select(c => c.Id));
        Assert.Equal(1, skip.Report.Count(DataErrorKind.MalformedRecord));
    }

    [Fact]
    public void Read_PopeStyleQuestionColumns_BuildsQuestionAnswerWithImagePlaceholder()
    {
        using var dir = Fixture.Temp();
        File.WriteAllText(dir.File("pope.jsonl"), """{"question_id": 3, "image": "a.png", "text": "Is there a cat in the image?", "label": "no"}""" + "\n");
        var columns = new ColumnMapping { Id = "question_id", Question = "text", Answer = "label", Image = "image" };

        var c = Assert.Single(new JsonlReader().Read(dir.File("pope.jsonl"), columns, DataErrorPolicy.Fail()));

        Assert.Equal("3", c.Id);
        Assert.Equal("a.png", c.Image!.Path);
        Assert.Equal([new Turn(Speaker.Human, "<image>\nIs there a cat in the image?"), new Turn(Speaker.Gpt, "no")], c.Turns);
    }
}
