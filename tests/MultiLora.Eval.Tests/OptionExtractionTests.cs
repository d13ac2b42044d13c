using MultiLora.Eval.Samples;
using MultiLora.Eval.Scoring;

namespace MultiLora.Eval.Tests;

/// <summary>VLMEvalKit can_infer rules: option tokens first, then option text; ambiguity gives nothing.</summary>
public class OptionExtractionTests
{
    static readonly ChoiceOption[] Options = [new("A", "apple"), new("B", "cat"), new("C", "dog"), new("D", "bird")];

    [Theory]
    [InlineData("B", "B")]
    [InlineData("The answer is B.", "B")]      // "." is a separator: tokens The/answer/is/B
    [InlineData("B) cat", "B")]                // ")" is a separator
    [InlineData("(C)", "C")]
    [InlineData("Answer: D", "D")]
    [InlineData("[A]", "A")]
    public void OptionExtraction_FindsTheSingleLetterToken(string reply, string expected) =>
        Assert.Equal(expected, OptionExtractor.Extract(reply, Options));

    [Fact]
    public void OptionExtraction_NamingTheOptionTextGivesItsLetter() =>
        Assert.Equal("C", OptionExtractor.Extract("It is a dog.", Options));

    [Fact]
    public void OptionExtraction_LowercaseLetterIsNotALetter_AsInVlmEvalKit()
    {
        // can_infer_option is case-sensitive; "b" falls through to text matching, where no option text occurs.
        Assert.Null(OptionExtractor.Extract("b", Options));
        // ... but lowercase text of an option still counts.
        Assert.Equal("B", OptionExtractor.Extract("a CAT", Options));
    }

    [Fact]
    public void OptionExtraction_AmbiguousAnswerGivesNothing()
    {
        Assert.Null(OptionExtractor.Extract("A or B", Options));           // two letter tokens
        Assert.Null(OptionExtractor.Extract("a cat or a dog", Options));   // two option texts
    }

    [Fact]
    public void OptionExtraction_RefusalIsZ() =>
        Assert.Equal("Z", OptionExtractor.Extract("Cannot determine the answer from the image", Options));

    [Fact]
    public void OptionExtraction_OnlyLettersOfPresentOptionsCount() =>
        // "E" is not an option; "The answer is E" has no option token and no option text.
        Assert.Null(OptionExtractor.Extract("The answer is E", Options));

    [Theory]
    [InlineData("B", "B")]
    [InlineData("C. dog", "C")]
    [InlineData("The answer is A.", "A")]
    [InlineData("Because of the fur.\nThe answer is D.", "D")]
    [InlineData("The answer is D", null)]        // LLaVA's pattern wants one more character after the letter
    [InlineData(" B", null)]                     // the reply is not stripped
    [InlineData("The answer is A. The answer is B.", null)]   // two matches: FAILED
    [InlineData("(B)", null)]        // LLaVA's ScienceQA parser knows only these three shapes
    [InlineData("E", null)]          // a letter beyond the choices
    public void ScienceQaLetter_MirrorsLlavaEvalScienceQa(string reply, string? expected) =>
        Assert.Equal(expected, ScienceQaLetter.Extract(reply, Options));
}
