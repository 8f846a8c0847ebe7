# The Korean prompt and message files live here; a package only so that a non-editable install ships them.
