"""A searchable catalog of think-tank publications: SQL database, Whoosh index, command line."""

__version__ = "0.1.0"
