"""What the assistant knows: the source article, its topics, and whether a message is
about it at all. Answers quote the article verbatim, with their sources."""
