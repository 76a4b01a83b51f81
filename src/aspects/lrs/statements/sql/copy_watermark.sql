-- How far this LRS process (name) has copied; NULL when it never recorded a copy.
SELECT max(copied_through) FROM ${db}.lrs_raw_copy WHERE name = {name:String}
