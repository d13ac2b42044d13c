using MultiLora.Eval.Scoring.Vqa;

namespace MultiLora.Eval.Tests;

/// <summary>The EvalAI answer processor and the official VQA accuracy (worked examples; Reference/ checks them against the scripts).</summary>
public class VqaNormalizationTests
{
    [Theory]
    [InlineData("Two", "2")]                       // number words
    [InlineData("none", "0")]
    [InlineData("ten dogs", "10 dogs")]
    [InlineData("The Cat", "cat")]                 // articles
    [InlineData("an apple a day", "apple day")]
    [InlineData("dont", "don't")]                  // contractions restored
    [InlineData("isnt it", "isn't it")]
    [InlineData("yes.", "yes")]                    // period not in a number dropped
    [InlineData("3.5", "3.5")]                     // period inside a number kept
    [InlineData("coca-cola", "coca cola")]         // '-' not next to a space: spaced
    [InlineData("red - blue", "red blue")]         // ' - ': removed
    [InlineData("1,000", "1000")]                  // ',' dropped first
    [InlineData("what?!", "what")]
    [InlineData("john's", "john 's")]
    [InlineData("  Left\tside ", "left side")]
    [InlineData("\u0130stanbul", "i\u0307stanbul")]        // Python's full lower-case mapping
    [InlineData("ΟΔΟΣ", "οδος")]                   // a word-final sigma lower-cases to ς
    [InlineData("a\u001cb", "b")]                  // \x1c is whitespace to Python's split(): "a" is an article
    [InlineData("\u0663.5", "\u0663.5")]           // re's \d is any decimal digit
    public void EvalAiProcessor_GivesPythonsResult(string raw, string expected) =>
        Assert.Equal(expected, VqaText.EvalAi(raw));

    [Fact]
    public void LeaveOneOutAccuracy_AveragesOverTheAnnotators()
    {
        var answers = Enumerable.Repeat("coca cola", 3).Concat(Enumerable.Repeat("coke", 7)).ToList();
        // 3 annotators said it: leaving one of them out leaves 2 matches (2/3); leaving another out leaves 3 (1).
        Assert.Equal((3 * (2.0 / 3) + 7 * 1.0) / 10, VqaText.LeaveOneOutAccuracy("coca cola", answers), 12);
        Assert.Equal(1.0, VqaText.LeaveOneOutAccuracy("coke", answers), 12);
        Assert.Equal(0.0, VqaText.LeaveOneOutAccuracy("pepsi", answers), 12);
        // one match: 9 subsets keep it (1/3 each), one drops it.
        Assert.Equal(9 * (1.0 / 3) / 10, VqaText.LeaveOneOutAccuracy("dog", ["dog", .. Enumerable.Repeat("cat", 9)]), 12);
    }
}
