"""Where papers come from: arXiv's export API and RSS listings over one paced client, and snapshot files.

Nothing here writes anywhere: sources yield Papers, and the application stores them.
"""
