namespace CoreScope.Data.Reads;

/// <summary>Paging as the read endpoints take it: validated here so every endpoint says the same thing.</summary>
public readonly record struct Page(int Limit, int Offset)
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    /// <summary>Builds a page from query values: a missing limit is the default, a limit over the maximum is capped.</summary>
    public static Page From(int? limit, int? offset)
    {
        if (limit is < 1)
        {
            throw new InvalidInputException($"limit must be between 1 and {MaxLimit}; it was {limit}.");
        }

        if (offset is < 0)
        {
            throw new InvalidInputException($"offset must be 0 or more; it was {offset}.");
        }

        return new Page(Math.Min(limit ?? DefaultLimit, MaxLimit), offset ?? 0);
    }
}
